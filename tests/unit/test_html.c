/* test_html.c — HTML escaping, links and the atomic page writer (common/report/html.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "report/html.h"

static void test_escape(void) {
    char *e = html_escape_dup("<a href=\"x\">Tom & Jerry's</a>");
    CHECK_STR_EQ(e, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    CHECK_EQ_INT(html_escaped_len("<a href=\"x\">Tom & Jerry's</a>"), strlen(e));
    free(e);
    e = html_escape_dup("plain text | Shoes, 100%");
    CHECK_STR_EQ(e, "plain text | Shoes, 100%");
    free(e);
    e = html_escape_dup("");
    CHECK_STR_EQ(e, "");
    free(e);
    e = html_escape_dup("&amp;"); /* already-escaped text is escaped again */
    CHECK_STR_EQ(e, "&amp;amp;");
    free(e);
    e = html_escape_dup("caf\xc3\xa9"); /* UTF-8 passes through */
    CHECK_STR_EQ(e, "caf\xc3\xa9");
    free(e);
}

static void test_url_path(void) {
    char *u = html_url_path("../my images/a&b\"c#d?.jpg");
    CHECK_STR_EQ(u, "../my%20images/a%26b%22c%23d%3F.jpg");
    free(u);
    u = html_url_path("a-b_c.d~e/f");
    CHECK_STR_EQ(u, "a-b_c.d~e/f");
    free(u);
}

static void test_relpath(void) {
    struct { const char *from, *to, *want; } cases[] = {
        {"/a/b", "/a/b/c.jpg", "c.jpg"},
        {"/a/b", "/a/img", "../img"},
        {"/a/b/c", "/x/y", "../../../x/y"},
        {"/a/b", "/a/b", "."},
        {"/a/b/", "/a//b/./img/", "img"},
        {"/a/b/../c", "/a/c/d", "d"},
        {"/a/b", "/a", ".."},
        {"/", "/a/b", "a/b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *r = html_relpath(cases[i].from, cases[i].to);
        CHECK_STR_EQ(r, cases[i].want);
        free(r);
    }
    /* Relative inputs are taken from the current directory. */
    char *r = html_relpath("out/site", "out/images");
    CHECK_STR_EQ(r, "../images");
    free(r);
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    char abs[4200];
    snprintf(abs, sizeof abs, "%s/out/images", cwd);
    r = html_relpath("out/site", abs);
    CHECK_STR_EQ(r, "../images");
    free(r);
}

static void test_dirname(void) {
    char *d = html_dirname("a/b/page.html");
    CHECK_STR_EQ(d, "a/b");
    free(d);
    d = html_dirname("page.html");
    CHECK_STR_EQ(d, ".");
    free(d);
    d = html_dirname("/page.html");
    CHECK_STR_EQ(d, "/");
    free(d);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_doc(void) {
    char dir[] = "/tmp/test_html.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/p.html", dir);
    stl_error err;
    html_doc d;
    CHECK_EQ_INT(html_begin(&d, path, "A <title> & more", "p { margin: 0; }\n", &err), 0);
    CHECK(access(path, F_OK) != 0); /* nothing under the final name yet */
    html_raw(&d, "<p>%d ", 42);
    html_text(&d, "\"quoted\" <script>");
    html_raw(&d, "</p>\n");
    CHECK_EQ_INT(html_end(&d, &err), 0);
    const char *t = slurp(path);
    CHECK(t != NULL);
    if (t) {
        CHECK(strncmp(t, "<!DOCTYPE html>\n", 16) == 0);
        CHECK(strstr(t, "<title>A &lt;title&gt; &amp; more</title>") != NULL);
        CHECK(strstr(t, "<style>\np { margin: 0; }\n</style>") != NULL);
        CHECK(strstr(t, "<p>42 &quot;quoted&quot; &lt;script&gt;</p>") != NULL);
        CHECK(strstr(t, "<script>") == NULL);
        size_t n = strlen(t);
        CHECK(n > 16 && strcmp(t + n - 16, "</body>\n</html>\n") == 0);
    }
    unlink(path);

    /* An aborted page leaves nothing behind. */
    CHECK_EQ_INT(html_begin(&d, path, "x", NULL, &err), 0);
    html_text(&d, "never");
    html_abort(&d);
    html_abort(&d); /* twice is harmless */
    CHECK(access(path, F_OK) != 0);
    CHECK(rmdir(dir) == 0); /* empty: no temporary left either */

    /* A page in a missing directory fails at html_begin with the path. */
    snprintf(path, sizeof path, "%s/missing/p.html", dir);
    CHECK_EQ_INT(html_begin(&d, path, "x", NULL, &err), -1);
    CHECK(strstr(err.msg, "missing/p.html") != NULL);
}

int main(void) {
    RUN(test_escape);
    RUN(test_url_path);
    RUN(test_relpath);
    RUN(test_dirname);
    RUN(test_doc);
    return check_summary();
}
