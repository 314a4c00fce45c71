// A test tool standing in for systemd's notify socket (node has no AF_UNIX datagrams): binds
// a datagram socket at PATH (or an abstract "@name"), says "bound", then prints each datagram
// on one line, its newlines written as the two characters \n. Runs until killed.
//   notify-sink PATH
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    if (argc != 2 || !argv[1][0] || strlen(argv[1]) > sizeof(sockaddr_un::sun_path)) {
        fprintf(stderr, "usage: notify-sink PATH|@NAME\n");
        return 2;
    }
    const std::string name = argv[1];
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, name.data(), name.size());
    if (name[0] == '@') sa.sun_path[0] = '\0';
    const socklen_t len = offsetof(sockaddr_un, sun_path) + name.size();
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
        perror("notify-sink: bind");
        return 1;
    }
    setvbuf(stdout, nullptr, _IOLBF, 0);
    printf("bound\n");
    char buf[8192];
    for (;;) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) continue;
        std::string line;
        for (ssize_t i = 0; i < n; ++i)
            line += buf[i] == '\n' ? std::string("\\n") : std::string(1, buf[i]);
        printf("%s\n", line.c_str());
    }
}
