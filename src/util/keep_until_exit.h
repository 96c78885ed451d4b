// What a command is done with just before the process exits, handed over
// instead of destroyed. A long trace's journey and events are millions of
// small allocations: freeing them one by one delays the exit (0.13 s per
// 20,000 packets), and the kernel takes the memory back at exit anyway. They
// stay reachable (from a list that is itself never freed), so LeakSanitizer
// does not report them.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace tpk::util {

template <typename T>
void keep_until_exit(T&& value) {
    static auto* kept = new std::vector<std::shared_ptr<void>>;
    kept->push_back(std::make_shared<std::decay_t<T>>(std::forward<T>(value)));
}

}  // namespace tpk::util
