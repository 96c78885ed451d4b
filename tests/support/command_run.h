// Runs a shell command line the way the integration tests need it: stdout
// and stderr kept apart, and the exit status.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tpk::testing {

struct Outcome {
    int status = -1;
    std::string out;
    std::string err;
};

inline Outcome run_command(const std::string& command) {
    namespace fs = std::filesystem;
    const fs::path err_file =
        fs::temp_directory_path() / ("tpk-test-err-" + std::to_string(::getpid()));
    Outcome r;
    FILE* p = ::popen((command + " 2>" + err_file.string()).c_str(), "r");
    if (!p) return r;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::ifstream in(err_file);
    std::stringstream ss;
    ss << in.rdbuf();
    r.err = ss.str();
    fs::remove(err_file);
    return r;
}

}  // namespace tpk::testing
