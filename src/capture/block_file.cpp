#include "capture/block_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "util/fd.h"

namespace tpk::capture {
namespace {

// Blocks in flight at once: two keep the disk's queue busy (one was ~1.2
// GB/s here, two ~1.45, with dd's direct writes); one more is being filled.
constexpr int kWriters = 2;
constexpr int kBuffers = kWriters + 1;

struct FreeBuffer {
    void operator()(std::byte* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<std::byte, FreeBuffer>;

// pwrite(2) until all of it is written (a disk-full short write is an
// error); at < 0: write(2), for a pipe.
Status pwrite_all(int fd, const std::byte* p, std::size_t n, off_t at, const std::string& path) {
    while (n > 0) {
        ssize_t w = at < 0 ? ::write(fd, p, n) : ::pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno_error("write " + path);
        if (w == 0) return make_error("write " + path + ": no space written", ENOSPC);
        p += w;
        if (at >= 0) at += w;
        n -= static_cast<std::size_t>(w);
    }
    return {};
}

Status set_direct(int fd, bool on, const std::string& path) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, on ? flags | O_DIRECT : flags & ~O_DIRECT) != 0)
        return errno_error("write " + path);
    return {};
}

}  // namespace

struct BlockFile::State {
    UniqueFd fd;
    std::string path;
    bool regular = false;          // a file: blocks at their offsets, by the writers
    bool direct = false;
    std::vector<Buffer> buffers;   // kAlign-aligned; one until the first block is full, then kBuffers
    int filling = 0;               // the buffer write() fills
    std::size_t used = 0;          // bytes in it
    off_t next_offset = 0;         // the file offset of the block being filled

    std::mutex mutex;
    std::condition_variable changed;
    struct Job {
        int buffer;
        off_t offset;
    };
    std::deque<Job> queued;        // full blocks waiting for a writer
    std::vector<int> free_buffers;
    bool stopping = false;
    std::optional<Error> error;    // the first a writer met
    std::vector<std::thread> writers;

    std::byte* buffer(int i) { return buffers[static_cast<std::size_t>(i)].get(); }

    // One full block to the file at its offset, on a writer thread.
    Status write_block(int i, off_t offset) {
        auto ok = pwrite_all(fd.get(), buffer(i), kBlockBytes, offset, path);
        // Some file systems take O_DIRECT at fcntl() and refuse it at the
        // first write: the same bytes, buffered.
        if (!ok && direct && ok.error().code == EINVAL) {
            std::lock_guard lock(mutex);
            direct = false;
            if (auto off = set_direct(fd.get(), false, path); !off) return off;
            return pwrite_all(fd.get(), buffer(i), kBlockBytes, offset, path);
        }
        return ok;
    }

    void writer_loop() {
        std::unique_lock lock(mutex);
        for (;;) {
            changed.wait(lock, [&] { return stopping || !queued.empty(); });
            if (queued.empty()) return;   // stopping, nothing left
            Job job = queued.front();
            queued.pop_front();
            const bool failed = error.has_value();   // then the rest is not written
            lock.unlock();
            Status ok = failed ? Status{} : write_block(job.buffer, job.offset);
            lock.lock();
            if (!ok && !error) error = ok.error();
            free_buffers.push_back(job.buffer);
            changed.notify_all();
        }
    }

    // Buffer 0, being filled, exists from create().
    Status start() {
        while (buffers.size() < kBuffers) {
            void* mem = nullptr;
            if (posix_memalign(&mem, kAlign, kBlockBytes) != 0)
                return make_error("write " + path + ": out of memory", ENOMEM);
            free_buffers.push_back(static_cast<int>(buffers.size()));
            buffers.emplace_back(static_cast<std::byte*>(mem));
        }
        for (int i = 0; i < kWriters; ++i) writers.emplace_back([this] { writer_loop(); });
        return {};
    }

    // The filled buffer to the writers, and a free one to fill.
    Status hand_over() {
        std::unique_lock lock(mutex);
        queued.push_back({filling, next_offset});
        next_offset += static_cast<off_t>(kBlockBytes);
        changed.notify_all();
        changed.wait(lock, [&] { return !free_buffers.empty(); });
        filling = free_buffers.back();
        free_buffers.pop_back();
        used = 0;
        if (error) return *error;
        return {};
    }

    void stop_writers() {
        {
            std::lock_guard lock(mutex);
            stopping = true;
        }
        changed.notify_all();
        for (auto& t : writers) t.join();
        writers.clear();
    }
};

BlockFile::BlockFile(std::unique_ptr<State> state) : state_(std::move(state)) {}
BlockFile::BlockFile(BlockFile&&) noexcept = default;
BlockFile& BlockFile::operator=(BlockFile&& o) noexcept {
    if (this != &o) {
        (void)close();
        state_ = std::move(o.state_);
    }
    return *this;
}
BlockFile::~BlockFile() { (void)close(); }

bool BlockFile::is_open() const { return state_ && state_->fd; }
bool BlockFile::direct() const { return state_ && state_->direct; }

Result<BlockFile> BlockFile::create(const std::string& path, bool page_cache) {
    auto s = std::make_unique<State>();
    s->path = path;
    s->fd = UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!s->fd) return errno_error("write " + path);
    // Direct only to a regular file (on a pipe O_DIRECT means packet mode).
    // A file system without it (tmpfs before 6.6) refuses it with EINVAL:
    // then buffered.
    struct stat st {};
    s->regular = ::fstat(s->fd.get(), &st) == 0 && S_ISREG(st.st_mode);
    s->direct = s->regular && !page_cache && set_direct(s->fd.get(), true, path);
    // The first block is filled in a buffer of its own until it is full: a
    // small file (a journey's pcapng) starts no thread.
    void* mem = nullptr;
    if (posix_memalign(&mem, kAlign, kBlockBytes) != 0)
        return make_error("write " + path + ": out of memory", ENOMEM);
    s->buffers.emplace_back(static_cast<std::byte*>(mem));
    return BlockFile(std::move(s));
}

Status BlockFile::write(std::span<const std::byte> bytes) {
    if (!is_open()) return make_error("write: the file is closed");
    State& s = *state_;
    while (!bytes.empty()) {
        const std::size_t n = std::min(bytes.size(), kBlockBytes - s.used);
        std::memcpy(s.buffer(s.filling) + s.used, bytes.data(), n);
        s.used += n;
        bytes = bytes.subspan(n);
        if (s.used == kBlockBytes && !s.regular) {   // a pipe: in order, from here
            if (auto ok = pwrite_all(s.fd.get(), s.buffer(0), kBlockBytes, -1, s.path); !ok)
                return ok;
            s.used = 0;
        } else if (s.used == kBlockBytes) {
            if (s.writers.empty())   // the first full block: the other buffers, the writers
                if (auto ok = s.start(); !ok) return ok;
            if (auto ok = s.hand_over(); !ok) return ok;
        }
    }
    return {};
}

Status BlockFile::close() {
    if (!is_open()) return {};
    State& s = *state_;
    s.stop_writers();   // every queued block written
    Status ok = s.error ? Status(*s.error) : Status{};
    // The aligned part directly, then the tail (any length) buffered.
    const std::size_t aligned = s.regular ? s.used / kAlign * kAlign : 0;
    if (ok && aligned)
        ok = pwrite_all(s.fd.get(), s.buffer(s.filling), aligned, s.next_offset, s.path);
    if (ok && s.used > aligned) {
        if (s.direct) ok = set_direct(s.fd.get(), false, s.path);
        if (ok)
            ok = pwrite_all(s.fd.get(), s.buffer(s.filling) + aligned, s.used - aligned,
                            s.regular ? s.next_offset + static_cast<off_t>(aligned) : -1, s.path);
    }
    s.used = 0;
    const int fd = s.fd.release();
    if (::close(fd) != 0 && ok) ok = errno_error("write " + s.path);
    return ok;
}

}  // namespace tpk::capture
