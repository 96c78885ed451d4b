// Reads a BPF ring buffer map (BPF_MAP_TYPE_RINGBUF) like libbpf's
// ring_buffer, with one difference that matters on the traced program's CPU:
// the consumer position is published once per batch of records, not after
// every record. The kernel reads that position in every bpf_ringbuf_reserve()
// and bpf_ringbuf_submit() (kernel/bpf/ringbuf.c); a reader that writes it
// per record moves its cache line to the reader's CPU per record, and each
// traced event then pays a cross-CPU miss. Measured with
// bench/kernel-probes.sh (docs/performance.md "Kernel probes").
//
// Layout (kernel/bpf/ringbuf.c, as libbpf maps it): page 0 is the consumer
// position (read-write), page 1 the producer position, then the data pages
// mapped twice in a row so that a record wrapping the end reads as one.
// Each record starts with an 8-byte header: length (BUSY and DISCARD bits on
// top) and page offset.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>

#include "util/fd.h"
#include "util/result.h"

namespace tpk::kernel {

class RingReader {
public:
    // map_fd: a BPF ring buffer map. Its fd must outlive the reader.
    static Result<RingReader> open(int map_fd);

    RingReader() = default;
    RingReader(RingReader&& o) noexcept;
    RingReader& operator=(RingReader&& o) noexcept;
    RingReader(const RingReader&) = delete;
    RingReader& operator=(const RingReader&) = delete;
    ~RingReader();

    using RecordFn = std::function<void(const void* data, std::size_t size)>;

    // Passes every committed record to fn until the ring is empty or a
    // record is still being written; returns how many. Publishes the
    // consumer position after each quarter of the ring and at the end.
    std::size_t consume(const RecordFn& fn);
    // Waits up to timeout_ms (-1: forever) for the kernel's wake-up, then
    // consumes. EINTR counts as no records.
    Result<std::size_t> poll(int timeout_ms, const RecordFn& fn);
    // Readable when records wait (an epoll fd watching the map).
    int epoll_fd() const { return epoll_.get(); }
    explicit operator bool() const { return data_ != nullptr; }

private:
    void unmap();

    UniqueFd epoll_;
    void* consumer_page_ = nullptr;   // the consumer position, read-write
    void* producer_area_ = nullptr;   // producer position page + data twice, read-only
    std::size_t page_size_ = 0;
    std::size_t producer_area_len_ = 0;
    std::uint64_t mask_ = 0;          // data size - 1 (a power of two)
    const std::uint8_t* data_ = nullptr;
};

}  // namespace tpk::kernel
