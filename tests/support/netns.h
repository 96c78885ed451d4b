// A network namespace for one test, with its lo up, deleted with the object
// (also when an assertion ends the test early). Needs root and iproute2.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace tpk::testing {

class Netns {
public:
    // Named tpk-<tag>-<pid>: tests running at once never share one.
    explicit Netns(const std::string& tag) : name_("tpk-" + tag + "-" + std::to_string(getpid())) {
        std::system(("ip netns del " + name_ + " 2>/dev/null").c_str());
        ok_ = std::system(("ip netns add " + name_).c_str()) == 0 &&
              std::system(("ip -n " + name_ + " link set lo up").c_str()) == 0;
    }
    ~Netns() { std::system(("ip netns del " + name_ + " 2>/dev/null").c_str()); }
    Netns(const Netns&) = delete;
    Netns& operator=(const Netns&) = delete;

    bool ok() const { return ok_; }
    // A prefix that runs a command line inside it.
    std::string exec() const { return "ip netns exec " + name_ + " "; }
    // What setns() opens to enter it.
    std::string path() const { return "/var/run/netns/" + name_; }

private:
    std::string name_;
    bool ok_ = false;
};

}  // namespace tpk::testing
