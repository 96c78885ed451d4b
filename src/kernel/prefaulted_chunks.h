// Memory in 1 MiB chunks, touched ahead of need by a thread of its own, for
// the ring's reader, which must not stall: fresh memory costs a page fault
// per 4 KiB, and on a VM the first touch of a guest page costs the host's
// fault too. Holding a saturating run's records (~250 MB/s) in freshly
// faulted chunks took most of the reader's time (clear_page 60% of its
// samples), and ~7 s into the run the ring overflowed (docs/performance.md,
// "Journey scale").
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tpk::kernel {

class PrefaultedChunks {
public:
    static constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

    PrefaultedChunks() = default;
    PrefaultedChunks(const PrefaultedChunks&) = delete;
    PrefaultedChunks& operator=(const PrefaultedChunks&) = delete;
    ~PrefaultedChunks() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    // A chunk of kChunkBytes, uninitialised; one touched ahead if one is
    // ready, else allocated here. The first call starts the thread.
    std::unique_ptr<std::byte[]> take() {
        std::unique_lock lock(mutex_);
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
        ++taken_;
        if (ready_.empty()) {
            lock.unlock();
            wake_.notify_one();
            return std::unique_ptr<std::byte[]>(new std::byte[kChunkBytes]);
        }
        auto chunk = std::move(ready_.back());
        ready_.pop_back();
        lock.unlock();
        wake_.notify_one();
        return chunk;
    }

private:
    // As many chunks ahead as were taken so far, at most 128 MiB (~0.5 s of
    // a saturating run): a short trace's few chunks cost no more than that.
    static constexpr std::size_t kMaxAhead = 128;
    static constexpr std::size_t kPage = 4096;

    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stop_ || ready_.size() < std::min(taken_, kMaxAhead); });
            if (stop_) return;
            lock.unlock();
            std::unique_ptr<std::byte[]> chunk(new std::byte[kChunkBytes]);
            for (std::size_t at = 0; at < kChunkBytes; at += kPage) chunk[at] = std::byte{0};
            lock.lock();
            ready_.push_back(std::move(chunk));
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<std::unique_ptr<std::byte[]>> ready_;
    std::size_t taken_ = 0;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace tpk::kernel
