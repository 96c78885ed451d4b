#include "lab/call_timing.h"

#include <time.h>

#include <memory>

namespace tpk::lab {
namespace detail {

CallObserver* call_observer = nullptr;

std::uint64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace detail

void observe_calls(CallObserver observer) {
    // One per process, alive until replaced: lab children set it once.
    static std::unique_ptr<CallObserver> installed;
    if (observer) {
        installed = std::make_unique<CallObserver>(std::move(observer));
        detail::call_observer = installed.get();
    } else {
        detail::call_observer = nullptr;
        installed.reset();
    }
}

}  // namespace tpk::lab
