// A file written the way a fast capture needs: appended to in large aligned
// blocks with O_DIRECT where the file system allows it, by two writer
// threads. Under a loopback stream of 64 KiB frames a buffered write(2)
// spends the writer's CPU copying every byte into the page cache (over half
// of `capture -w`'s samples, docs/performance.md "Capture"); a direct write
// hands the block to the disk without that copy, and two blocks in flight
// keep the disk busy while the caller fills the next. Files on a file system
// without O_DIRECT (tmpfs before Linux 6.6), pipes, and the unaligned tail
// at the end are written the buffered way; the bytes in the file are the
// same either way.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "util/result.h"

namespace tpk::capture {

class BlockFile {
public:
    // Creates (or truncates) path. page_cache: never O_DIRECT (a slow disk
    // then absorbs a burst in memory, as the page cache allows).
    static Result<BlockFile> create(const std::string& path, bool page_cache = false);
    BlockFile(BlockFile&&) noexcept;
    BlockFile& operator=(BlockFile&&) noexcept;
    // Writes what is left, if close() was not called (errors unreported).
    ~BlockFile();

    // Appends; a full block goes to a writer thread at once (the threads
    // start with the first one: a small file never starts them). Returns
    // the first error a writer met, if any.
    Status write(std::span<const std::byte> bytes);
    // Writes what is left, waits for the writers and closes; errors name the
    // path. Idempotent.
    Status close();

    bool is_open() const;
    // Whether blocks bypass the page cache (O_DIRECT was accepted).
    bool direct() const;

    // The block: 4 MiB, a multiple of every logical block size (512 B to 4 KiB).
    static constexpr std::size_t kBlockBytes = std::size_t{4} << 20;
    static constexpr std::size_t kAlign = 4096;

private:
    struct State;
    explicit BlockFile(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

}  // namespace tpk::capture
