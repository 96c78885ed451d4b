#include "lab/ready_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace tpk::lab {
namespace {

Status write_all(int fd, const std::string& data, const std::string& path) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("write ready file " + path);
        done += static_cast<std::size_t>(n);
    }
    return {};
}

}  // namespace

Result<UnixPathOwner> write_ready_file(const std::string& path, const std::string& text) {
    const std::string line = text + "\n";
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
        // O_NONBLOCK: fail (ENXIO) instead of hanging when nobody reads.
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
        if (!fd) return errno_error("open ready FIFO " + path + " (is its reader there?)");
        if (auto st2 = write_all(fd.get(), line, path); !st2) return std::move(st2).take_error();
        return UnixPathOwner();
    }
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) return errno_error("create ready file " + tmp);
        if (auto st2 = write_all(fd.get(), line, tmp); !st2) {
            ::unlink(tmp.c_str());
            return std::move(st2).take_error();
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        auto e = errno_error("rename " + tmp + " to " + path);
        ::unlink(tmp.c_str());
        return e;
    }
    return UnixPathOwner(path);
}

}  // namespace tpk::lab
