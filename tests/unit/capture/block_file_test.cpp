// BlockFile writes exactly the bytes it is given, in order, whatever their
// pieces: across its 4 MiB blocks, with a tail that is no multiple of the
// disk's block size, on the disk's file system (/tmp here) and on tmpfs
// (/dev/shm: O_DIRECT from Linux 6.6 on, refused at open before, and then
// written buffered), and when it is destroyed unclosed.
#include "capture/block_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

using tpk::capture::BlockFile;

std::vector<std::byte> pattern(std::size_t length) {
    std::vector<std::byte> bytes(length);
    for (std::size_t i = 0; i < length; ++i) bytes[i] = static_cast<std::byte>((i * 131 + i / 4099) & 0xff);
    return bytes;
}

std::vector<std::byte> read_back(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

// Writes `all` in pieces of growing odd sizes (1 B to ~300 KiB) through a BlockFile at path.
void write_in_pieces(const std::string& path, const std::vector<std::byte>& all, bool close) {
    auto f = BlockFile::create(path);
    ASSERT_TRUE(f) << f.error().message();
    std::size_t at = 0, piece = 1;
    while (at < all.size()) {
        const std::size_t n = std::min(piece, all.size() - at);
        ASSERT_TRUE(f->write(std::span(all).subspan(at, n)));
        at += n;
        piece = piece * 3 + 1;
        if (piece > 300'000) piece = 7;
    }
    if (close) {
        ASSERT_TRUE(f->close());
    }
}

class BlockFileIn : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        if (!std::filesystem::is_directory(GetParam())) GTEST_SKIP() << GetParam() << " is not here";
        path_ = std::string(GetParam()) + "/tpk-block-file-" + std::to_string(::getpid());
    }
    void TearDown() override {
        if (!path_.empty()) std::filesystem::remove(path_);
    }
    std::string path_;
};

TEST_P(BlockFileIn, WritesEveryByteInOrder) {
    // Three full blocks and an unaligned tail.
    const auto all = pattern(3 * BlockFile::kBlockBytes + 12'345);
    write_in_pieces(path_, all, /*close=*/true);
    EXPECT_EQ(read_back(path_), all);
}

TEST_P(BlockFileIn, ShortFileAndEmptyFile) {
    const auto some = pattern(17);
    write_in_pieces(path_, some, true);
    EXPECT_EQ(read_back(path_), some);
    write_in_pieces(path_, {}, true);   // truncates
    EXPECT_TRUE(read_back(path_).empty());
}

TEST_P(BlockFileIn, DestroyedUnclosedStillWritesEverything) {
    const auto all = pattern(BlockFile::kBlockBytes + BlockFile::kAlign + 3);
    write_in_pieces(path_, all, /*close=*/false);
    EXPECT_EQ(read_back(path_), all);
}

INSTANTIATE_TEST_SUITE_P(FileSystems, BlockFileIn, ::testing::Values("/tmp", "/dev/shm"),
                         [](const auto& info) {
                             return std::string(info.param) == "/tmp" ? "Tmp" : "DevShm";
                         });

// A pipe (`-w /dev/stdout | ...`): written in order, buffered, no offsets.
TEST(BlockFile, APipeGetsEveryByteInOrder) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::vector<std::byte> got;
    std::thread reader([&] {
        std::byte buf[65536];
        ssize_t n;
        while ((n = ::read(fds[0], buf, sizeof buf)) > 0) got.insert(got.end(), buf, buf + n);
    });
    const auto all = pattern(2 * BlockFile::kBlockBytes + 999);
    {
        auto f = BlockFile::create("/proc/self/fd/" + std::to_string(fds[1]));
        ::close(fds[1]);   // the BlockFile has its own descriptor of the pipe
        ASSERT_TRUE(f) << f.error().message();
        EXPECT_FALSE(f->direct());
        ASSERT_TRUE(f->write(all));
        ASSERT_TRUE(f->close());
    }
    reader.join();
    ::close(fds[0]);
    EXPECT_EQ(got, all);
}

TEST(BlockFile, AnUnwritablePathIsAnErrorNamingIt) {
    auto f = BlockFile::create("/nonexistent-dir/x.pcap");
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().message().find("/nonexistent-dir/x.pcap"), std::string::npos)
        << f.error().message();
}

}  // namespace
