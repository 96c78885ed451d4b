// JSON text written straight into a string, without building a tree first:
// the journey's JSON Lines are written once per record, and a DOM per record
// (nlohmann::json) cost more than correlating (issue #14's profile).
//
// The caller gives keys in the order they are to appear. The journey's
// records keep nlohmann::json's order (its objects are std::maps: keys sorted
// byte-wise), so the output stays byte-compatible with schema_version 1 as
// it was written before; the golden tests hold that.
//
// Strings are escaped as nlohmann::json::dump() escapes them (ensure_ascii
// off: `"`, `\`, \b \f \n \r \t, other control bytes as \u00xx); bytes that
// are not UTF-8 (a process may name itself anything) become U+FFFD instead of
// an exception.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tpk::report {

// Writes straight into out's storage through a cursor: out is grown ahead
// (resize) and each piece is stored with plain stores, instead of an append
// per piece, each checking capacity and writing a terminator (a packet's
// record is ~6 KB in ~300 pieces). out holds exactly the text written
// whenever the outermost object or array closes, and when the writer goes;
// in between its tail is the writer's room, so out is not to be touched.
// (Once closed, out is the caller's again: a newline appended stays.)
class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out), len_(out.size()) {}
    ~JsonWriter() {
        if (room_) commit();
    }
    JsonWriter(const JsonWriter&) = delete;
    JsonWriter& operator=(const JsonWriter&) = delete;

    JsonWriter& begin_object() { return open('{'); }
    JsonWriter& end_object() { return close('}'); }
    JsonWriter& begin_array() { return open('['); }
    JsonWriter& end_array() { return close(']'); }
    // The next value's key (inside an object): one of the schema's names,
    // plain ASCII that needs no escaping, so it is copied as it is.
    JsonWriter& key(std::string_view k) {
        char* p = room(k.size() + 4);
        p = separate(p);
        *p++ = '"';
        std::memcpy(p, k.data(), k.size());
        p += k.size();
        *p++ = '"';
        *p++ = ':';
        advance(p);
        after_key_ = true;
        return *this;
    }

    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
    JsonWriter& value(bool b) { return literal(b ? std::string_view("true") : "false"); }
    JsonWriter& value(std::uint64_t n);
    JsonWriter& value(std::int64_t n);
    JsonWriter& value(std::uint32_t n) { return value(std::uint64_t{n}); }
    JsonWriter& value(std::int32_t n) { return value(std::int64_t{n}); }
    JsonWriter& value(std::uint16_t n) { return value(std::uint64_t{n}); }
    JsonWriter& value(std::uint8_t n) { return value(std::uint64_t{n}); }
    JsonWriter& null() { return literal("null"); }
    // "0x..." as the records write kernel addresses.
    JsonWriter& hex(std::uint64_t n);

    // key + value in one call.
    template <typename T>
    JsonWriter& field(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }
    JsonWriter& null_field(std::string_view k) {
        key(k);
        return null();
    }

private:
    // At least n bytes to store at the cursor.
    char* room(std::size_t n) {
        if (out_.size() - len_ < n) grow(n);
        return out_.data() + len_;
    }
    void grow(std::size_t n);
    void advance(char* p) { len_ = static_cast<std::size_t>(p - out_.data()); }
    // out_ cut back to what was written.
    void commit() {
        out_.resize(len_);
        room_ = false;
    }
    // The comma before a value or key that is not first. Inline with key():
    // a record is dozens of them.
    char* separate(char* p) {
        if (after_key_) {
            after_key_ = false;
            return p;
        }
        if (depth_ == 0) return p;
        const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
        if (first_ & bit) first_ &= ~bit;
        else *p++ = ',';
        return p;
    }
    template <typename Int>
    JsonWriter& integer(Int n);   // up to 20 digits and a sign
    JsonWriter& literal(std::string_view text) {
        char* p = separate(room(text.size() + 1));
        std::memcpy(p, text.data(), text.size());
        advance(p + text.size());
        return *this;
    }
    JsonWriter& open(char bracket) {
        if (depth_ == 0 && !room_) len_ = out_.size();  // the caller may have appended
        char* p = separate(room(2));
        *p++ = bracket;
        advance(p);
        first_ |= std::uint64_t{1} << depth_++;
        return *this;
    }
    JsonWriter& close(char bracket) {
        *room(1) = bracket;
        ++len_;
        if (--depth_ == 0) commit();
        return *this;
    }

    std::string& out_;
    std::size_t len_;   // the text written; out_ may be longer: room
    bool room_ = false; // out_ is longer than the text
    // Bit d: the object/array open at depth d has nothing written in it yet.
    // The nesting is the writers' code, not their input: the records nest at
    // most five levels deep.
    std::uint64_t first_ = 0;
    int depth_ = 0;
    bool after_key_ = false;
};

// Appends s to out as a JSON string literal (quoted, escaped).
void append_json_string(std::string& out, std::string_view s);

}  // namespace tpk::report
