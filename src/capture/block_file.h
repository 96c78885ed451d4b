// A file written the way a fast capture needs: appended to in large aligned
// blocks with O_DIRECT where the file system allows it. Under a loopback
// stream of 64 KiB frames a buffered write(2) spends the writer's CPU
// copying every byte into the page cache (over half of `capture -w`'s
// samples, docs/performance.md "Capture"); a direct write hands the block
// to the disk without that copy. Files on a file system without O_DIRECT
// (tmpfs) and the unaligned tail at the end are written the buffered way;
// the bytes in the file are the same either way.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>

#include "util/fd.h"
#include "util/result.h"

namespace tpk::capture {

class BlockFile {
public:
    // Creates (or truncates) path.
    static Result<BlockFile> create(const std::string& path);
    BlockFile(BlockFile&&) = default;
    BlockFile& operator=(BlockFile&&) = default;
    // Writes what is left, if close() was not called (errors unreported).
    ~BlockFile() { (void)close(); }

    // Appends; a full block goes to the file at once.
    Status write(std::span<const std::byte> bytes);
    // Writes what is left and closes; errors name the path.
    Status close();

    bool is_open() const { return static_cast<bool>(fd_); }
    // Whether blocks bypass the page cache (O_DIRECT was accepted).
    bool direct() const { return direct_; }

    // The block: 4 MiB, a multiple of every logical block size (512 B to 4 KiB).
    static constexpr std::size_t kBlockBytes = std::size_t{4} << 20;
    static constexpr std::size_t kAlign = 4096;

private:
    struct FreeBuffer {
        void operator()(std::byte* p) const { std::free(p); }
    };
    BlockFile(UniqueFd fd, std::string path, bool direct, std::unique_ptr<std::byte, FreeBuffer> buf)
        : fd_(std::move(fd)), path_(std::move(path)), direct_(direct), buf_(std::move(buf)) {}
    Status flush_block(std::size_t bytes);

    UniqueFd fd_;
    std::string path_;
    bool direct_ = false;
    std::unique_ptr<std::byte, FreeBuffer> buf_;   // kBlockBytes, kAlign-aligned
    std::size_t used_ = 0;
};

}  // namespace tpk::capture
