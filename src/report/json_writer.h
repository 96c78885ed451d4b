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
#include <string>
#include <string_view>

namespace tpk::report {

class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    // The next value's key (inside an object): one of the schema's names,
    // plain ASCII that needs no escaping, so it is copied as it is.
    JsonWriter& key(std::string_view k) {
        separate();
        // One append: the key is a literal, so its length is known here.
        char quoted[64];
        if (k.size() + 3 > sizeof quoted) {
            out_ += '"';
            out_ += k;
            out_ += "\":";
        } else {
            quoted[0] = '"';
            k.copy(quoted + 1, k.size());
            quoted[k.size() + 1] = '"';
            quoted[k.size() + 2] = ':';
            out_.append(quoted, k.size() + 3);
        }
        after_key_ = true;
        return *this;
    }

    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
    JsonWriter& value(bool b);
    JsonWriter& value(std::uint64_t n);
    JsonWriter& value(std::int64_t n);
    JsonWriter& value(std::uint32_t n) { return value(std::uint64_t{n}); }
    JsonWriter& value(std::int32_t n) { return value(std::int64_t{n}); }
    JsonWriter& value(std::uint16_t n) { return value(std::uint64_t{n}); }
    JsonWriter& value(std::uint8_t n) { return value(std::uint64_t{n}); }
    JsonWriter& null();
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
    // The comma before a value or key that is not first. Inline with key():
    // a record is dozens of them.
    void separate() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (depth_ == 0) return;
        const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
        if (first_ & bit) first_ &= ~bit;
        else out_ += ',';
    }
    void open(char bracket);
    void close(char bracket);

    std::string& out_;
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
