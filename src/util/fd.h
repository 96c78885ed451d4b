// Every handle has one owner (STYLE.md). UniqueFd owns a file descriptor and
// closes it on destruction; ScopedHandle does the same for any C handle with a
// free function (pcap_t, ring_buffer, mnl_socket, bpf_link, ...).
#pragma once

#include <unistd.h>

#include <utility>

namespace tpk {

template <class T, void (*Free)(T*)>
class ScopedHandle {
public:
    ScopedHandle() = default;
    explicit ScopedHandle(T* p) : p_(p) {}
    ScopedHandle(ScopedHandle&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    ScopedHandle& operator=(ScopedHandle&& o) noexcept {
        if (this != &o) reset(std::exchange(o.p_, nullptr));
        return *this;
    }
    ScopedHandle(const ScopedHandle&) = delete;
    ScopedHandle& operator=(const ScopedHandle&) = delete;
    ~ScopedHandle() { reset(); }

    T* get() const { return p_; }
    T* release() { return std::exchange(p_, nullptr); }
    void reset(T* p = nullptr) {
        if (p_) Free(p_);
        p_ = p;
    }
    explicit operator bool() const { return p_ != nullptr; }

private:
    T* p_ = nullptr;
};

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }
    bool valid() const { return fd_ >= 0; }
    explicit operator bool() const { return valid(); }

private:
    int fd_ = -1;
};

}  // namespace tpk
