// `tracepacket doctor` as a user runs it: the JSON report (one object, every
// hop of kernel_support.cpp's table with a status), the text report and its
// verdict line, a bad option, and the two ends: as root on this machine's
// kernel (6.18: all tracepoints, fentry refused) and unprivileged (exit 1,
// the missing capability named, the hop table still read from BTF). The
// root and 6.18 facts are checked only where they hold; elsewhere those
// tests skip and say why.
#include <gtest/gtest.h>

#include "support/command_run.h"
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/kernel_support.h"

namespace fs = std::filesystem;

namespace {

using tpk::testing::Outcome;

// Runs a shell command with stdout and stderr captured apart (stdout is a
// pipe, so the text report is uncoloured).
Outcome run(const std::string& command) { return tpk::testing::run_command(command); }

std::string doctor(const std::string& args = "") {
    return std::string(TPK_BINARY) + " doctor " + args;
}

nlohmann::json parse(const Outcome& r) {
    try {
        return nlohmann::json::parse(r.out);
    } catch (const nlohmann::json::exception& e) {
        ADD_FAILURE() << "doctor --json printed no single JSON object (" << e.what()
                      << "):\n" << r.out << "\nstderr:\n" << r.err;
        return nlohmann::json::object();
    }
}

std::string release() {
    struct utsname u {};
    return ::uname(&u) == 0 ? u.release : "";
}

// The hop names of kernel_support.cpp's table, in its order.
std::vector<std::string> table_hops() {
    std::vector<std::string> names;
    for (const auto& h : tpk::kernel::probe_kernel_support().hops) names.push_back(h.hop);
    return names;
}

std::string last_line(const std::string& text) {
    std::string s = text;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    auto nl = s.rfind('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
}

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
}

bool is_verdict(const std::string& line) {
    return line == "journeys here: full" || starts_with(line, "journeys here: ") ||
           starts_with(line, "kernel side unavailable: ");
}

// Bits of this process's effective capability set (/proc/self/status).
std::uint64_t cap_eff() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (starts_with(line, "CapEff:")) return std::strtoull(line.c_str() + 7, nullptr, 16);
    return 0;
}

// Root on this project's machine: the kernel whose facts ARCHITECTURE.md
// records (6.18: every tracepoint, fentry refused).
std::string why_not_root_on_618() {
    if (::geteuid() != 0) return "needs root (the fentry probe and the BPF load need CAP_BPF)";
    if (!starts_with(release(), "6.18"))
        return "the expected facts are 6.18's; this kernel is " + release();
    return "";
}

TEST(Doctor, JsonHasEveryHopWithAStatus) {
    const Outcome r = run(doctor("--json"));
    ASSERT_TRUE(r.status == 0 || r.status == 1) << r.status << "\n" << r.err;
    const auto j = parse(r);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.at("type"), "doctor");
    EXPECT_EQ(j.at("schema_version"), 1);
    EXPECT_EQ(j.at("release"), release());
    EXPECT_EQ(j.at("kernel_side").get<bool>(), r.status == 0)
        << "exit status and kernel_side disagree: " << j.at("verdict");

    const auto expected = table_hops();
    ASSERT_FALSE(expected.empty());
    std::vector<std::string> names;
    const std::set<std::string> statuses = {"ok", "fallback", "limited", "missing"};
    std::vector<std::string> missing;
    for (const auto& h : j.at("hops")) {
        names.push_back(h.at("hop"));
        const std::string status = h.at("status");
        EXPECT_TRUE(statuses.count(status)) << h.dump();
        if (status == "missing") {
            missing.push_back(h.at("hop"));
            EXPECT_FALSE(h.at("missing").get<std::string>().empty()) << h.dump();
        } else {
            EXPECT_FALSE(h.at("source").get<std::string>().empty()) << h.dump();
        }
    }
    EXPECT_EQ(names, expected);
    EXPECT_EQ(j.at("missing_hops").get<std::vector<std::string>>(), missing);
    for (const char* key : {"object", "object_reason", "fentry", "fentry_error", "btf",
                            "tracepoint_args", "checks", "capabilities", "verdict", "blockers"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_TRUE(is_verdict(j.at("verdict"))) << j.at("verdict");
    for (const auto& c : j.at("checks"))
        EXPECT_TRUE(c.at("status") == "ok" || c.at("status") == "missing" ||
                    c.at("status") == "note")
            << c.dump();
}

TEST(Doctor, TextEndsWithTheVerdictLine) {
    const Outcome text = run(doctor());
    ASSERT_TRUE(text.status == 0 || text.status == 1) << text.status << "\n" << text.err;
    EXPECT_EQ(text.out.find("\x1b["), std::string::npos) << "coloured although stdout is a pipe";
    for (const char* part : {"SYSTEM", "PRIVILEGES", "KERNEL", "BPF", "JOURNEY HOPS",
                             "kernel release", "CAP_BPF", "BTF", "tracefs", "lockdown",
                             "ring buffer", "tp_btf", "fentry/fexit", "kprobes", "BPF object"})
        EXPECT_NE(text.out.find(part), std::string::npos) << part << " not in\n" << text.out;
    for (const auto& hop : table_hops())
        EXPECT_NE(text.out.find("  " + hop + " "), std::string::npos) << hop;
    const std::string verdict = last_line(text.out);
    EXPECT_TRUE(is_verdict(verdict)) << verdict;
    EXPECT_EQ(verdict == "journeys here: full" || starts_with(verdict, "journeys here: "),
              text.status == 0)
        << verdict;

    const Outcome json = run(doctor("--json"));
    EXPECT_EQ(parse(json).value("verdict", ""), verdict);
}

TEST(Doctor, BadOptionExitsNonZeroWithAnError) {
    const Outcome r = run(doctor("--no-such-option"));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.status, 1) << "a usage error is not a verdict";
    EXPECT_NE(r.err.find("--no-such-option"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Doctor, HelpExplainsTheExitStatus) {
    const Outcome r = run(doctor("--help"));
    EXPECT_EQ(r.status, 0);
    for (const char* part : {"--json", "--no-load", "Exit status", "kernel side can run"})
        EXPECT_NE(r.out.find(part), std::string::npos) << part << " not in\n" << r.out;
}

// On 6.18 every tracepoint exists and fentry is refused: the only hops that
// may be missing are those only fentry/fexit can give (none has a
// tracepoint), and each says so.
void expect_only_fentry_hops_missing(const nlohmann::json& j) {
    std::vector<std::string> missing;
    for (const auto& h : j.at("hops")) {
        if (h.at("status") != "missing") continue;
        missing.push_back(h.at("hop"));
        EXPECT_NE(h.at("missing").get<std::string>().find("fentry/fexit"), std::string::npos)
            << "on 6.18 only a hop that needs fentry may be missing: " << h.dump();
    }
    EXPECT_EQ(j.at("missing_hops").get<std::vector<std::string>>(), missing);
    if (missing.empty()) {
        EXPECT_EQ(j.at("verdict"), "journeys here: full");
    } else {
        EXPECT_TRUE(starts_with(j.at("verdict"), "journeys here: ")) << j.at("verdict");
    }
}

TEST(Doctor, RootOnThisKernelHasEveryTracepointHop) {
    if (auto why = why_not_root_on_618(); !why.empty()) GTEST_SKIP() << why;
    const Outcome r = run(doctor("--json"));
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    const auto j = parse(r);
    EXPECT_EQ(j.at("object"), "modern");
    EXPECT_FALSE(j.at("fentry").get<bool>());
    EXPECT_FALSE(j.at("fentry_error").get<std::string>().empty());
    EXPECT_FALSE(starts_with(j.at("fentry_error"), "not probed")) << j.at("fentry_error");
    EXPECT_TRUE(j.at("kernel_side").get<bool>()) << j.at("blockers").dump();
    EXPECT_EQ(j.at("loaded"), true) << "the verifier refused: " << j.at("refused_hops").dump();
    EXPECT_TRUE(j.at("refused_hops").empty()) << j.at("refused_hops").dump();
    expect_only_fentry_hops_missing(j);
}

TEST(Doctor, EnvironmentForcesTheCompatObject) {
    const Outcome r = run("TRACEPACKET_BPF_OBJECT=compat " + doctor("--json"));
    ASSERT_TRUE(r.status == 0 || r.status == 1) << r.status << "\n" << r.err;
    const auto j = parse(r);
    EXPECT_EQ(j.at("object"), "compat");
    EXPECT_NE(j.at("object_reason").get<std::string>().find("TRACEPACKET_BPF_OBJECT"),
              std::string::npos)
        << j.at("object_reason");
    if (auto why = why_not_root_on_618(); !why.empty())
        GTEST_SKIP() << "compat named; that it loads with every hop is not checked: " << why;
    EXPECT_EQ(r.status, 0) << j.at("blockers").dump();
    EXPECT_EQ(j.at("loaded"), true) << "the verifier refused: " << j.at("refused_hops").dump();
    EXPECT_TRUE(j.at("refused_hops").empty()) << j.at("refused_hops").dump();
    expect_only_fentry_hops_missing(j);
}

// A program the verifier refuses costs its hop, not the kernel side: forced
// with the tracer's test-only knob (src/kernel/tracer.cpp,
// TRACEPACKET_TEST_BREAK_PROGRAM), as tests/runtime/journey does.
TEST(Doctor, RefusedProgramCostsOnlyItsHop) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (the BPF load needs CAP_BPF)";
    const Outcome r = run("TRACEPACKET_TEST_BREAK_PROGRAM=handle_tcp_probe " + doctor("--json"));
    const auto j = parse(r);
    ASSERT_TRUE(j.contains("refused_hops")) << r.out << r.err;
    EXPECT_EQ(r.status, 0) << j.at("blockers").dump();
    const auto refused = j.at("refused_hops").get<std::vector<std::string>>();
    EXPECT_NE(std::find(refused.begin(), refused.end(), "tcp_probe"), refused.end());
    const auto missing = j.at("missing_hops").get<std::vector<std::string>>();
    EXPECT_NE(std::find(missing.begin(), missing.end(), "tcp_probe"), missing.end());
    EXPECT_NE(j.at("verdict").get<std::string>().find("tcp_probe"), std::string::npos)
        << j.at("verdict");
    for (const auto& h : j.at("hops")) {
        if (h.at("hop") != "tcp_probe") continue;
        EXPECT_NE(h.at("missing").get<std::string>().find("verifier refused"), std::string::npos)
            << h.dump();
    }

    const Outcome text = run("TRACEPACKET_TEST_BREAK_PROGRAM=handle_tcp_probe " + doctor());
    EXPECT_EQ(last_line(text.out), j.at("verdict"));
    EXPECT_NE(text.out.find("MISSING  verifier"), std::string::npos) << text.out;
}

// How to run the binary without privileges from here: as root through
// setpriv (util-linux) as nobody, or directly when this process already
// lacks them. Empty prefix and a reason when neither works.
bool unprivileged_prefix(std::string& prefix, std::string& why) {
    constexpr std::uint64_t kBpfPerfmonSysAdmin = (1ull << 39) | (1ull << 38) | (1ull << 21);
    if (::geteuid() != 0) {
        if (cap_eff() & kBpfPerfmonSysAdmin) {
            why = "this non-root process holds CAP_BPF, CAP_PERFMON or CAP_SYS_ADMIN and cannot "
                  "drop them for a child without setpriv as root";
            return false;
        }
        prefix = "";
        return true;
    }
    prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    if (std::system("command -v setpriv >/dev/null 2>&1") != 0) {
        why = "needs setpriv (util-linux) to drop root";
        return false;
    }
    if (std::system((prefix + "test -x " TPK_BINARY).c_str()) != 0) {
        why = "uid 65534 cannot execute " TPK_BINARY " (a directory on its path is closed)";
        return false;
    }
    return true;
}

TEST(Doctor, UnprivilegedExitsOneNamesTheCapabilityAndStillReadsBtf) {
    std::string prefix, why;
    if (!unprivileged_prefix(prefix, why)) GTEST_SKIP() << why;

    const Outcome text = run(prefix + doctor());
    EXPECT_EQ(text.status, 1) << text.out << text.err;
    EXPECT_NE(text.out.find("MISSING  CAP_BPF"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("MISSING  CAP_PERFMON"), std::string::npos) << text.out;
    const std::string verdict = last_line(text.out);
    EXPECT_TRUE(starts_with(verdict, "kernel side unavailable: ")) << verdict;
    EXPECT_NE(verdict.find("CAP_BPF"), std::string::npos) << verdict;
    EXPECT_NE(verdict.find("partial journey"), std::string::npos) << verdict;

    const Outcome json = run(prefix + doctor("--json"));
    EXPECT_EQ(json.status, 1) << json.err;
    const auto j = parse(json);
    EXPECT_FALSE(j.at("kernel_side").get<bool>());
    EXPECT_FALSE(j.at("privileged").get<bool>());
    EXPECT_EQ(j.at("capabilities").at("CAP_BPF"), false);
    EXPECT_TRUE(starts_with(j.at("fentry_error"), "not probed")) << j.at("fentry_error");
    EXPECT_TRUE(j.at("loaded").is_null());
    EXPECT_TRUE(j.at("ringbuf").is_null());

    if (!tpk::kernel::probe_kernel_support().btf)
        GTEST_SKIP() << "this kernel has no readable BTF, so there is no hop table to compare";
    // The hop table comes from the kernel's BTF, readable without privileges.
    std::vector<std::string> names;
    for (const auto& h : j.at("hops")) {
        names.push_back(h.at("hop"));
        if (h.at("status") != "missing") {
            EXPECT_FALSE(h.at("source").get<std::string>().empty()) << h.dump();
        }
    }
    EXPECT_EQ(names, table_hops());
    for (const auto& hop : table_hops())
        EXPECT_NE(text.out.find("  " + hop + " "), std::string::npos) << hop;
    EXPECT_TRUE(j.at("btf").get<bool>());
    EXPECT_FALSE(j.at("tracepoint_args").empty());
}

}  // namespace
