// What the HTML writers' unit tests check of a page without a browser: tags
// balanced (every element closed, in order; void and self-closing ones
// aside), no <script>, and small helpers to find elements by an attribute.
#pragma once

#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace tpk::testing {

// "" when balanced, else the first problem ("</td> closes <tr> at 1234").
inline std::string html_balance_problem(const std::string& page) {
    static const std::set<std::string> kVoid = {"meta", "br", "hr", "img", "input", "link", "wbr", "col"};
    std::vector<std::string> open;
    std::size_t pos = 0;
    while ((pos = page.find('<', pos)) != std::string::npos) {
        if (page.compare(pos, 2, "<!") == 0) {  // doctype, comments
            pos = page.find('>', pos);
            continue;
        }
        const std::size_t end = page.find('>', pos);
        if (end == std::string::npos) return "a tag never ends at " + std::to_string(pos);
        const bool closing = page[pos + 1] == '/';
        std::size_t n = pos + 1 + closing;
        std::string name;
        while (n < end && (std::isalnum(static_cast<unsigned char>(page[n])) || page[n] == '-'))
            name += static_cast<char>(std::tolower(static_cast<unsigned char>(page[n++])));
        if (name.empty()) return "a '<' that opens no tag at " + std::to_string(pos);
        const bool self_closing = page[end - 1] == '/';
        if (closing) {
            if (open.empty() || open.back() != name)
                return "</" + name + "> closes <" + (open.empty() ? std::string("nothing") : open.back()) +
                       "> at " + std::to_string(pos);
            open.pop_back();
        } else if (!self_closing && !kVoid.count(name)) {
            open.push_back(name);
        }
        // <style> holds CSS, not tags.
        if (!closing && name == "style") {
            pos = page.find("</style>", end);
            if (pos == std::string::npos) return "<style> never closed";
            continue;
        }
        pos = end + 1;
    }
    return open.empty() ? "" : "left open: <" + open.back() + ">";
}

inline std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
    return n;
}

// The text of the element that starts at the first `opening` (its tag name
// given), through its matching end tag; "" when missing.
inline std::string element(const std::string& page, const std::string& opening, const std::string& tag) {
    const std::size_t start = page.find(opening);
    if (start == std::string::npos) return {};
    int depth = 0;
    std::size_t pos = start;
    while (pos < page.size()) {
        const std::size_t open = page.find("<" + tag, pos);
        const std::size_t close = page.find("</" + tag + ">", pos);
        if (close == std::string::npos) return {};
        if (open != std::string::npos && open < close) {
            ++depth;
            pos = open + 1;
        } else {
            if (--depth == 0) return page.substr(start, close + tag.size() + 3 - start);
            pos = close + 1;
        }
    }
    return {};
}

}  // namespace tpk::testing
