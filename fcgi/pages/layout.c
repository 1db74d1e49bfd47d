/*
 * layout.c: the page skeleton, the stylesheet and the security headers
 * every HTML page answers with; see layout.h.
 */
#include <stdio.h>
#include <string.h>

#include <fcgiapp.h>
#include <openssl/evp.h>

#include "cfg.h"
#include "html.h"
#include "request.h"
#include "layout.h"

/* Light by default, dark when the system is; one column on a phone. */
static const char css[] =
":root{--bg:#f6f7f9;--fg:#1b1d23;--mute:#5b6170;--card:#fff;"
"--line:#d9dce3;--acc:#4f46e5;--c0:#4f46e5;--c1:#0e9f6e;--c2:#c26a05;"
"--c3:#dc2626;color-scheme:light dark}"
"@media (prefers-color-scheme:dark){:root{--bg:#111318;--fg:#e6e8ee;"
"--mute:#9aa1b1;--card:#1a1d24;--line:#2e333e;--acc:#7c73ff;--c0:#8b83ff;"
"--c1:#34d399;--c2:#fbbf24;--c3:#f87171}}"
"*{box-sizing:border-box}[hidden]{display:none!important}"
"body{margin:0;background:var(--bg);color:var(--fg);"
"font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif}"
"nav{display:flex;gap:16px;align-items:center;padding:10px 16px;"
"border-bottom:1px solid var(--line);background:var(--card)}"
"nav b{margin-right:auto}nav a{color:var(--acc);text-decoration:none}"
"main{max-width:1100px;margin:0 auto;padding:12px 16px 40px}"
"h1{font-size:1.45rem;margin:.4em 0 .2em}h2{font-size:1.1rem;margin:1.3em 0 .4em}"
"p{margin:.4em 0}.mute{color:var(--mute)}.err{color:var(--c3)}"
".card{background:var(--card);border:1px solid var(--line);"
"border-radius:10px;padding:14px;margin:12px 0}"
"form.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(110px,1fr));"
"gap:10px;align-items:end}"
"label{display:flex;flex-direction:column;gap:2px;font-size:.85rem;color:var(--mute)}"
".wide{grid-column:1/-1}"
"input,select,button,textarea{font:inherit;padding:8px 10px;border:1px solid var(--line);"
"border-radius:6px;background:var(--bg);color:var(--fg);min-width:0}"
"button{background:var(--acc);color:#fff;border-color:var(--acc);cursor:pointer}"
"button.plain{background:transparent;color:var(--acc)}"
".row{display:flex;gap:8px}.row input{flex:1}"
"img.out{max-width:100%;height:auto;border-radius:8px;display:block;margin-top:10px;"
"background:var(--line)}"
"progress{width:100%;height:8px}"
".kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}"
".kpi{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:10px 12px}"
".kpi b{display:block;font-size:1.35rem}"
".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr));gap:12px}"
"figure.chart{margin:0;background:var(--card);border:1px solid var(--line);"
"border-radius:10px;padding:10px}"
"figcaption{font-size:.9rem;margin-bottom:4px}"
"figure svg{width:100%;height:auto;display:block}"
"line.grid{stroke:var(--line)}.ax{fill:var(--mute);font-size:14px}"
".ln{fill:none;stroke-width:2}"
"path.c0{stroke:var(--c0)}path.c1{stroke:var(--c1)}path.c2{stroke:var(--c2)}"
"path.c3{stroke:var(--c3)}circle.c0{fill:var(--c0)}circle.c1{fill:var(--c1)}"
"circle.c2{fill:var(--c2)}circle.c3{fill:var(--c3)}"
".key{white-space:nowrap;font-size:.8rem;color:var(--mute)}"
".key::before{content:'';display:inline-block;width:10px;height:10px;"
"border-radius:2px;margin:0 4px 0 10px}"
".key.c0::before{background:var(--c0)}.key.c1::before{background:var(--c1)}"
".key.c2::before{background:var(--c2)}.key.c3::before{background:var(--c3)}"
".tbl{overflow-x:auto}table{width:100%;border-collapse:collapse;font-size:.9rem}"
"th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);"
"vertical-align:middle}td.n,th.n{text-align:right}"
"img.thumb{width:40px;height:40px;object-fit:cover;border-radius:4px;display:block}"
"code{overflow-wrap:anywhere;font-size:.9em}"
"td.p{max-width:28em;overflow-wrap:anywhere}";

void
layout_begin(struct hbuf *b, const struct cfg *c, const char *title)
{
	hbuf_puts(b, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">"
	    "<meta name=\"color-scheme\" content=\"light dark\">"
	    "<meta name=\"referrer\" content=\"same-origin\"><title>");
	html_text(b, title);
	hbuf_puts(b, " · promptpix</title><style>");
	hbuf_puts(b, css);
	hbuf_puts(b, "</style></head><body><nav><b>promptpix</b>");
	if (c->pages_home) {
		hbuf_puts(b, "<a href=\"");
		html_attr(b, c->base_path);
		hbuf_puts(b, "\">Try a prompt</a>");
	}
	hbuf_puts(b, "<a href=\"");
	html_attr(b, c->base_path);
	hbuf_puts(b, "dashboard\">Dashboard</a></nav><main>\n");
}

void
layout_end(struct hbuf *b, const char *script)
{
	hbuf_puts(b, "</main>");
	if (script != NULL) {
		hbuf_puts(b, "<script>");
		hbuf_puts(b, script);
		hbuf_puts(b, "</script>");
	}
	hbuf_puts(b, "</body></html>\n");
}

/* "'sha256-BASE64'" of text, into out (at least 80 bytes). */
static void
csp_hash(const char *text, char *out, size_t outsz)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned char	 b64[64];
	unsigned int	 mdlen = 0;

	EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
	EVP_EncodeBlock(b64, md, (int)mdlen);
	snprintf(out, outsz, "'sha256-%s'", b64);
}

void
layout_csp(const struct cfg *c, const char *script, char *out, unsigned outsz)
{
	char	 style[80], js[80];
	/* Images kept by fal, in a bucket or under a URL of another host. */
	int	 remote = c->store_mode != STORE_LOCAL ||
	    strncmp(c->store_url, "http", 4) == 0;

	csp_hash(css, style, sizeof(style));
	if (script != NULL)
		csp_hash(script, js, sizeof(js));
	snprintf(out, outsz, "default-src 'none'; img-src 'self'%s; "
	    "style-src %s; script-src %s; connect-src 'self'; "
	    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	    remote ? " https:" : "", style, script != NULL ? js : "'none'");
}

void
layout_send(struct rq *rq, int status, const struct hbuf *b,
    const char *script, const char *h1, const char *v1, const char *h2,
    const char *v2)
{
	char	 csp[512], n[24];

	if (b->overflow) {
		rq->outcome = OUT_ERROR;
		http_text(rq, 500, NULL, NULL, "page too large");
		return;
	}
	layout_csp(rq->cfg, script, csp, sizeof(csp));
	http_begin(rq, status);
	http_header(rq, "Content-Type", "text/html; charset=utf-8");
	http_header(rq, "Cache-Control", "no-store");
	http_header(rq, "Content-Security-Policy", csp);
	http_header(rq, "X-Content-Type-Options", "nosniff");
	/*
	 * No referrer to other hosts (a page's URL holds a prompt), but
	 * one for this host: "no-referrer" would make a browser send
	 * "Origin: null" with a form, and pageutil_same_origin() refuse it.
	 */
	http_header(rq, "Referrer-Policy", "same-origin");
	http_header(rq, "X-Frame-Options", "DENY");
	snprintf(n, sizeof(n), "%zu", b->len);
	http_header(rq, "Content-Length", n);
	if (h1 != NULL)
		http_header(rq, h1, v1);
	if (h2 != NULL)
		http_header(rq, h2, v2);
	http_end_headers(rq);
	if (!rq->head && b->len > 0)
		FCGX_PutStr(b->p, (int)b->len, rq->out);
}
