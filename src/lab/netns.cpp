#include "lab/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace tpk::lab {

namespace {

Result<std::uint64_t> inode_of(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return errno_error("fstat network namespace");
    return static_cast<std::uint64_t>(st.st_ino);
}

}  // namespace

Status set_link_up(const std::string& device) {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) return errno_error("socket for SIOCSIFFLAGS");
    ifreq ifr{};
    if (device.size() >= sizeof ifr.ifr_name) return make_error("device name too long: " + device);
    std::memcpy(ifr.ifr_name, device.c_str(), device.size());
    if (ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return errno_error("get flags of " + device);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return errno_error("set " + device + " up");
    return {};
}

Result<NetNamespace> NetNamespace::create() {
    // unshare() moves only the calling thread: a thread of our own takes the
    // step, hands back an fd that keeps the namespace alive, and ends.
    int fd = -1;
    Error failure;
    bool failed = false;
    std::thread maker([&] {
        if (::unshare(CLONE_NEWNET) != 0) {
            failure = errno_error(errno == EPERM ? EPERM : errno,
                                  "create a network namespace (unshare CLONE_NEWNET; needs "
                                  "CAP_SYS_ADMIN, run as root)");
            failed = true;
            return;
        }
        fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            failure = errno_error("open /proc/thread-self/ns/net");
            failed = true;
            return;
        }
        if (auto up = set_link_up("lo"); !up) {
            failure = wrap(std::move(up).take_error(), "in the new network namespace");
            failed = true;
        }
    });
    maker.join();
    NetNamespace ns;
    ns.fd_.reset(fd);
    if (failed) return failure;
    auto inode = inode_of(ns.fd_.get());
    if (!inode) return std::move(inode).take_error();
    ns.inode_ = *inode;
    return ns;
}

Result<EnteredNetns> NetNamespace::enter() const {
    EnteredNetns guard;
    guard.previous_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!guard.previous_) return errno_error("open /proc/thread-self/ns/net");
    if (::setns(fd_.get(), CLONE_NEWNET) != 0) return errno_error("enter the lab's network namespace");
    return guard;
}

EnteredNetns::~EnteredNetns() {
    // A moved-from guard has nothing to restore. Failing to go back leaves
    // this thread in a namespace that dies with the process: nothing to undo.
    if (previous_) (void)::setns(previous_.get(), CLONE_NEWNET);
}

Result<std::uint64_t> current_netns_inode() {
    struct stat st {};
    if (stat("/proc/thread-self/ns/net", &st) != 0) return errno_error("stat /proc/thread-self/ns/net");
    return static_cast<std::uint64_t>(st.st_ino);
}

Result<std::string> read_net_sysctl(const std::string& name) {
    std::string path = "/proc/sys/net/" + name;
    std::ifstream in(path);
    if (!in) return errno_error("read " + path);
    std::string value;
    std::getline(in, value);
    return value;
}

Status write_net_sysctl(const std::string& name, const std::string& value) {
    std::string path = "/proc/sys/net/" + name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return errno_error("open " + path);
    if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
        return errno_error("write " + value + " to " + path);
    return {};
}

}  // namespace tpk::lab
