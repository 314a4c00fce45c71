// The soak's pipe-driver consumer: writes every line it reads to DIR/c.<pid>. With
// --stubborn it ignores SIGTERM and stays after its stdin ends, as a badly written driver
// script would: robotd has to SIGKILL it.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';

const [dir, mode] = process.argv.slice(2);
const out = createWriteStream(join(dir, `c.${process.pid}`));
process.stdin.pipe(out);
if (mode === '--stubborn') {
    process.on('SIGTERM', () => {});
    setInterval(() => {}, 1 << 30);
}
