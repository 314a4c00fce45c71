'use strict';
// TLS material for the https discovery server and the wss user socket,
// generated with the openssl CLI (no shell) and reused when already present.
//   ca.key/ca.pem          test CA (RSA 2048, SHA-256, CA:TRUE)
//   server.key/server.pem  leaf signed by the CA, SAN IP:127.0.0.1 + DNS:localhost, and
//                          DNS:127.0.0.1 because mbedTLS 2.28 (robotd's TLS) checks the
//                          name it connected to against dNSName entries only; the same pair
//                          for an extra address (--advertise-host) when one is given
//   wrong-ca.key/.pem      an unrelated CA that signed nothing we serve

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const config = (extra) => `[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:127.0.0.1${extra}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
`;

function openssl(args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir, name, cn, cnf) {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
    '-config', cnf, '-extensions', 'v3_ca', '-subj', `/CN=${cn}`,
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.pem`)]);
}

function ensureTls(stateDir, extraHost = null) {
  const dir = path.join(stateDir, 'tls');
  const files = {
    ca_file: path.join(dir, 'ca.pem'),
    ca_key: path.join(dir, 'ca.key'),
    cert_file: path.join(dir, 'server.pem'),
    key_file: path.join(dir, 'server.key'),
    wrong_ca_file: path.join(dir, 'wrong-ca.pem'),
  };
  if (Object.values(files).every((f) => fs.existsSync(f))) return files;

  fs.mkdirSync(dir, { recursive: true });
  const cnf = path.join(dir, 'openssl.cnf');
  const extra = !extraHost || extraHost === '127.0.0.1' ? ''
    : `${/^[0-9.]+$/.test(extraHost) ? `, IP:${extraHost}` : ''}, DNS:${extraHost}`;
  fs.writeFileSync(cnf, config(extra));
  makeCa(dir, 'ca', 'robotd peer test CA', cnf);
  makeCa(dir, 'wrong-ca', 'robotd peer unrelated CA', cnf);
  const csr = path.join(dir, 'server.csr');
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-config', cnf,
    '-subj', '/CN=localhost', '-keyout', files.key_file, '-out', csr]);
  openssl(['x509', '-req', '-sha256', '-days', '825', '-in', csr,
    '-CA', files.ca_file, '-CAkey', files.ca_key, '-set_serial', String(Date.now()),
    '-extfile', cnf, '-extensions', 'v3_server', '-out', files.cert_file]);
  fs.unlinkSync(csr);
  return files;
}

module.exports = { ensureTls };
