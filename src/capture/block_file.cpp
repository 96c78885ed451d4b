#include "capture/block_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tpk::capture {
namespace {

// write(2) until all of it is written (a disk-full short write is an error).
Status write_all(int fd, const std::byte* p, std::size_t n, const std::string& path) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno_error("write " + path);
        if (w == 0) return make_error("write " + path + ": no space written", ENOSPC);
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return {};
}

}  // namespace

Result<BlockFile> BlockFile::create(const std::string& path) {
    void* mem = nullptr;
    if (posix_memalign(&mem, kAlign, kBlockBytes) != 0) return make_error("write " + path + ": out of memory", ENOMEM);
    std::unique_ptr<std::byte, FreeBuffer> buf(static_cast<std::byte*>(mem));
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return errno_error("write " + path);
    // Direct only to a regular file (on a pipe O_DIRECT means packet mode).
    // A file system without it (tmpfs before 6.6) refuses it with EINVAL:
    // then buffered.
    struct stat st {};
    const bool direct = ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) &&
                        ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_DIRECT) == 0;
    return BlockFile(std::move(fd), path, direct, std::move(buf));
}

Status BlockFile::flush_block(std::size_t bytes) {
    if (auto ok = write_all(fd_.get(), buf_.get(), bytes, path_); !ok) {
        // A direct write some file systems take at open and refuse at the
        // first write: the same bytes, buffered.
        if (!direct_ || ok.error().code != EINVAL) return ok;
        if (::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) & ~O_DIRECT) != 0)
            return errno_error("write " + path_);
        direct_ = false;
        return write_all(fd_.get(), buf_.get(), bytes, path_);
    }
    return {};
}

Status BlockFile::write(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        const std::size_t n = std::min(bytes.size(), kBlockBytes - used_);
        std::memcpy(buf_.get() + used_, bytes.data(), n);
        used_ += n;
        bytes = bytes.subspan(n);
        if (used_ == kBlockBytes) {
            if (auto ok = flush_block(used_); !ok) return ok;
            used_ = 0;
        }
    }
    return {};
}

Status BlockFile::close() {
    if (!fd_) return {};
    // The aligned part directly, then the tail (any length) buffered.
    const std::size_t aligned = used_ / kAlign * kAlign;
    Status ok = aligned ? flush_block(aligned) : Status{};
    if (ok && used_ > aligned) {
        if (direct_ && ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) & ~O_DIRECT) != 0)
            ok = errno_error("write " + path_);
        else
            ok = write_all(fd_.get(), buf_.get() + aligned, used_ - aligned, path_);
    }
    used_ = 0;
    const int fd = fd_.release();
    if (::close(fd) != 0 && ok) ok = errno_error("write " + path_);
    return ok;
}

}  // namespace tpk::capture
