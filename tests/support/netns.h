// A network namespace for one test, with its lo up, deleted with the object
// (also when an assertion ends the test early). Needs root and iproute2.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/command_run.h"

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

// The inode of a process's network namespace (proc_dir: "/proc/PID",
// "/proc/self"); 0 when it is gone.
inline std::uint64_t netns_of(const std::string& proc_dir) {
    struct stat st {};
    if (stat((proc_dir + "/ns/net").c_str(), &st) != 0) return 0;
    return st.st_ino;
}

// Whether any process still holds the namespace with this inode.
inline bool namespace_in_use(std::uint64_t inode) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc"))
        if (netns_of(entry.path().string()) == inode) return true;
    return false;
}

// The host's view a lab must leave as it found it: named namespaces and link names.
inline std::string host_view() {
    return run_command("ip netns list").out + "\n" +
           run_command("ip -o link show | awk -F': ' '{print $2}' | sort").out;
}

}  // namespace tpk::testing
