#!/usr/bin/env python3
"""Reads one of tracepacket's HTML pages with python's html.parser and prints
what the runtime tests compare with the JSON Lines of the same run, as one
JSON object: tags left open or closed out of order (a page that is not
well-formed), scripts, the backlog queue chart's attributes and its accept
queue polyline's title, the clients' result rows, the timeline rows by type,
and for the two-hosts page each path's diagram with the packets drawn in it.
"""
import json
import sys
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.errors = []
        self.out = {"scripts": 0, "svgs": [], "queue_chart": None, "accept_queue_title": None,
                    "client_rows": [], "client_chart_rows": 0, "timeline_types": {}, "paths": [],
                    "facts": [], "doctype": False, "drops": []}
        self.path = None          # the open div.path
        self.title_of = None      # collect the <title> text of this element
        self.text = ""

    def handle_decl(self, decl):
        if decl.lower() == "doctype html":
            self.out["doctype"] = True

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "script":
            self.out["scripts"] += 1
        if tag == "svg":
            self.out["svgs"].append(a)
            if "queue-chart" in cls:
                self.out["queue_chart"] = a
        if tag == "polyline" and "accept-queue" in cls:
            self.title_of = "accept_queue_title"
        if tag == "title" and self.title_of:
            self.text = ""
        if tag == "tr" and "client-result" in cls:
            self.out["client_rows"].append(a.get("data-outcome"))
        if tag == "tr" and "drop" in cls:
            self.out["drops"].append(a.get("data-reason"))
        if tag == "g" and "client" in cls:
            self.out["client_chart_rows"] += 1
        if tag == "tr" and "data-type" in a:
            t = self.out["timeline_types"]
            t[a["data-type"]] = t.get(a["data-type"], 0) + 1
        if tag == "tr" and "data-fact" in a:
            self.out["facts"].append(a["data-fact"])
        if tag == "div" and "path" in cls:
            self.path = {"path": a.get("data-path"), "data_packets": int(a.get("data-packets", -1)),
                         "packet_groups": 0, "sequence_svgs": 0, "depth": len(self.stack)}
            self.out["paths"].append(self.path)
        if self.path is not None:
            if tag == "g" and "packet" in cls:
                self.path["packet_groups"] += 1
            if tag == "svg" and "sequence" in cls:
                self.path["sequence_svgs"] += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass  # <line .../>: opens and closes itself

    def handle_data(self, data):
        self.text += data

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}> at {self.getpos()}")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "title" and self.title_of:
            self.out[self.title_of] = self.text.strip()
            self.title_of = None
        if tag == "div" and self.path is not None and len(self.stack) == self.path["depth"]:
            del self.path["depth"]
            self.path = None


def main():
    page = Page()
    with open(sys.argv[1], encoding="utf-8") as f:
        page.feed(f.read())
    page.close()
    if page.stack:
        page.errors.append("left open: " + " ".join(page.stack))
    page.out["errors"] = page.errors
    print(json.dumps(page.out))


if __name__ == "__main__":
    main()
