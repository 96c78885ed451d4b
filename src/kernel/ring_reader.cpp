#include "kernel/ring_reader.h"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <bpf/bpf.h>
#include <linux/bpf.h>

namespace tpk::kernel {
namespace {

constexpr std::uint32_t kHeaderSize = 8;   // BPF_RINGBUF_HDR_SZ

// The bytes a record with this header length takes in the ring (header
// included, rounded to 8 as the kernel reserves).
std::uint64_t record_span(std::uint32_t len) {
    len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    return (static_cast<std::uint64_t>(len) + kHeaderSize + 7) / 8 * 8;
}

std::uint64_t load_acquire(const void* p) {
    return __atomic_load_n(static_cast<const std::uint64_t*>(p), __ATOMIC_ACQUIRE);
}

}  // namespace

Result<RingReader> RingReader::open(int map_fd) {
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0)
        return errno_error("read the ring buffer's map info");
    if (info.type != BPF_MAP_TYPE_RINGBUF || info.max_entries == 0 ||
        (info.max_entries & (info.max_entries - 1)) != 0)
        return make_error("the events map is not a BPF ring buffer");

    RingReader r;
    r.page_size_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    r.mask_ = info.max_entries - 1;
    r.consumer_page_ = mmap(nullptr, r.page_size_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (r.consumer_page_ == MAP_FAILED) {
        r.consumer_page_ = nullptr;
        return errno_error("map the ring buffer's consumer page");
    }
    r.producer_area_len_ = r.page_size_ + 2 * static_cast<std::size_t>(info.max_entries);
    r.producer_area_ = mmap(nullptr, r.producer_area_len_, PROT_READ, MAP_SHARED, map_fd,
                            static_cast<off_t>(r.page_size_));
    if (r.producer_area_ == MAP_FAILED) {
        r.producer_area_ = nullptr;
        return errno_error("map the ring buffer's data pages");
    }
    r.data_ = static_cast<const std::uint8_t*>(r.producer_area_) + r.page_size_;
    r.epoll_ = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
    if (!r.epoll_) return errno_error("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN;
    if (epoll_ctl(r.epoll_.get(), EPOLL_CTL_ADD, map_fd, &ev) != 0)
        return errno_error("watch the ring buffer");
    return r;
}

RingReader::RingReader(RingReader&& o) noexcept { *this = std::move(o); }

RingReader& RingReader::operator=(RingReader&& o) noexcept {
    if (this != &o) {
        unmap();
        epoll_ = std::move(o.epoll_);
        consumer_page_ = std::exchange(o.consumer_page_, nullptr);
        producer_area_ = std::exchange(o.producer_area_, nullptr);
        page_size_ = o.page_size_;
        producer_area_len_ = o.producer_area_len_;
        mask_ = o.mask_;
        data_ = std::exchange(o.data_, nullptr);
    }
    return *this;
}

RingReader::~RingReader() { unmap(); }

void RingReader::unmap() {
    if (consumer_page_) munmap(consumer_page_, page_size_);
    if (producer_area_) munmap(producer_area_, producer_area_len_);
    consumer_page_ = producer_area_ = nullptr;
    data_ = nullptr;
}

std::size_t RingReader::consume(const RecordFn& fn) {
    if (!data_) return 0;
    auto* consumer_pos = static_cast<std::uint64_t*>(consumer_page_);
    const std::uint64_t publish_every = (mask_ + 1) / 4;
    std::uint64_t cons = load_acquire(consumer_pos);
    std::uint64_t published = cons;
    std::size_t count = 0;
    bool more = true;
    while (more) {
        more = false;
        std::uint64_t prod = load_acquire(producer_area_);
        while (cons < prod) {
            const std::uint8_t* header = data_ + (cons & mask_);
            auto len = __atomic_load_n(reinterpret_cast<const std::uint32_t*>(header),
                                       __ATOMIC_ACQUIRE);
            if (len & BPF_RINGBUF_BUSY_BIT) break;   // still being written
            if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
                fn(header + kHeaderSize, len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT));
                ++count;
            }
            cons += record_span(len);
            more = true;
            // Free space for the producer now and then within a long batch.
            if (cons - published >= publish_every) {
                __atomic_store_n(consumer_pos, cons, __ATOMIC_RELEASE);
                published = cons;
            }
        }
        // Publish before looking again: a record committed after this store
        // sees consumer == its own position and wakes us (bpf_ringbuf_commit).
        if (cons != published) {
            __atomic_store_n(consumer_pos, cons, __ATOMIC_RELEASE);
            published = cons;
        }
    }
    return count;
}

Result<std::size_t> RingReader::poll(int timeout_ms, const RecordFn& fn) {
    if (!data_) return make_error("poll the ring buffer: not open");
    epoll_event ev{};
    int n = epoll_wait(epoll_.get(), &ev, 1, timeout_ms);
    if (n < 0 && errno != EINTR) return errno_error("wait for the ring buffer");
    return consume(fn);
}

}  // namespace tpk::kernel
