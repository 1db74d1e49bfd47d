/*
 * home.c: GET / (under base_path; [pages] home): what this host does,
 * and a form that builds an image URL, shows the image when it arrives
 * and the exact URL to copy. Works without JavaScript (the form is a
 * GET of this page, which then holds the image); with it, the page
 * shows the wait and the answer's reason without leaving.
 */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "html.h"
#include "request.h"
#include "layout.h"
#include "page.h"
#include "pageutil.h"

/* Its SHA-256 is in the page's CSP (layout.c): no other script runs. */
static const char script[] =
"(function(){"
"var f=document.getElementById('try');if(!f)return;"
"var img=document.getElementById('out'),st=document.getElementById('state'),"
"box=document.getElementById('result'),url=document.getElementById('url'),"
"bar=document.getElementById('bar'),copy=document.getElementById('copy');"
"function build(){var d=new FormData(f),q='text='+encodeURIComponent("
"String(d.get('text')).trim()),s=String(d.get('seed')||'').trim();"
"if(s)q+='&seed='+encodeURIComponent(s);"
"return location.origin+f.dataset.base+d.get('width')+'x'+d.get('height')"
"+'.'+d.get('format')+'?'+q}"
"f.addEventListener('submit',function(e){e.preventDefault();var u=build(),"
"t0=Date.now();url.value=u;box.hidden=false;bar.hidden=false;img.hidden=true;"
"img.removeAttribute('src');"
"history.replaceState(null,'','?'+new URLSearchParams(new FormData(f)));"
"function say(t){st.textContent=t}"
"var tick=setInterval(function(){say('Generating\\u2026 '+Math.round("
"(Date.now()-t0)/1000)+' s')},250);say('Asking\\u2026');"
"function end(t){clearInterval(tick);bar.hidden=true;say(t)}"
"fetch(u).then(function(r){if(!r.ok)return r.text().then(function(t){"
"throw new Error(r.status+': '+t.trim())});"
"img.onload=function(){img.hidden=false;end('Ready in '+((Date.now()-t0)"
"/1000).toFixed(1)+' s ('+img.naturalWidth+'\\u00d7'+img.naturalHeight+')')};"
"img.onerror=function(){end('The image did not load.')};"
"img.width=+f.elements.width.value;img.height=+f.elements.height.value;"
"img.src=r.url}).catch(function(x){end('Failed: '+x.message)})});"
"copy.addEventListener('click',function(){url.select();function ok(){"
"copy.textContent='Copied';setTimeout(function(){copy.textContent='Copy'},"
"1500)}if(navigator.clipboard)navigator.clipboard.writeText(url.value)"
".then(ok,function(){document.execCommand('copy');ok()});"
"else{document.execCommand('copy');ok()}})})();";

static void
intro(struct hbuf *b)
{
	hbuf_puts(b, "<h1>Images that exist as soon as you link to them</h1>"
	    "<p>This host turns a link into an AI image: put a prompt in the "
	    "URL, and the first request for it generates the picture once. "
	    "Everyone who opens the same link after that &#8212; five players "
	    "entering a VRChat world at once, or a thousand &#8212; gets the "
	    "same picture without another paid generation.</p>");
}

static void
delivery_note(struct hbuf *b, const struct cfg *c)
{
	hbuf_puts(b, "<p class=\"mute\">");
	if (c->delivery == DELIVERY_INLINE)
		hbuf_puts(b, "This host answers an image URL with the image "
		    "itself (<code>delivery = inline</code>): VRChat's image "
		    "loader does not follow redirects, so this is what a "
		    "world's image panels need.");
	else
		hbuf_puts(b, "This host answers an image URL with "
		    "<code>302 Found</code> to the stored file "
		    "(<code>delivery = redirect</code>). Browsers and most "
		    "engines follow it; VRChat's image loader does not, so a "
		    "host for VRChat worlds sets <code>[store] delivery = "
		    "inline</code> and answers with the image itself.");
	hbuf_puts(b, "</p>");
}

static void
input(struct hbuf *b, const char *label, const char *name, const char *type,
    const char *value, const char *extra)
{
	hbuf_printf(b, "<label>%s<input name=\"%s\" type=\"%s\" value=\"",
	    label, name, type);
	html_attr(b, value);
	hbuf_printf(b, "\"%s></label>", extra);
}

static void
form(struct hbuf *b, const struct cfg *c, const struct img_form *f)
{
	char	 lim[96];

	hbuf_puts(b, "<form id=\"try\" class=\"card grid\" method=\"get\" "
	    "action=\"");
	html_attr(b, c->base_path);
	hbuf_puts(b, "\" data-base=\"");
	html_attr(b, c->base_path);
	hbuf_puts(b, "\"><label class=\"wide\">Prompt<input name=\"text\" "
	    "required autocomplete=\"off\" placeholder=\"A beautiful sunset\" "
	    "value=\"");
	html_attr(b, f->text);
	hbuf_puts(b, "\"></label>");
	snprintf(lim, sizeof(lim), " min=\"%u\" max=\"%u\" required",
	    c->lim.min_dim, c->lim.max_dim);
	input(b, "Width", "width", "number", f->width, lim);
	input(b, "Height", "height", "number", f->height, lim);
	hbuf_printf(b, "<label>Format<select name=\"format\">"
	    "<option%s>jpg</option><option%s>png</option></select></label>",
	    strcmp(f->format, "png") != 0 ? " selected" : "",
	    strcmp(f->format, "png") == 0 ? " selected" : "");
	input(b, "Seed (optional)", "seed", "number", f->seed,
	    " min=\"0\" max=\"4294967295\"");
	hbuf_puts(b, "<button type=\"submit\">Generate</button></form>");
}

/* The result: the image (when the form was given), the URL to copy. */
static void
result(struct hbuf *b, struct rq *rq, const struct img_form *f)
{
	struct hbuf	 path, q;
	const char	*why = NULL;
	int		 ok;

	hbuf_init(&path, 8192);
	hbuf_init(&q, 16384);
	ok = f->given && pageutil_image(rq, f, &path, &q, &why) == 0;
	hbuf_printf(b, "<section id=\"result\" class=\"card\"%s>",
	    f->given ? "" : " hidden");
	hbuf_printf(b, "<progress id=\"bar\" hidden></progress>"
	    "<p id=\"state\" class=\"%s\">", why ? "err" : "mute");
	if (why != NULL) {
		hbuf_puts(b, "Not a valid image URL: ");
		html_text(b, why);
	} else if (ok)
		hbuf_puts(b, "The image appears below once it is generated.");
	hbuf_puts(b, "</p><div class=\"row\"><input id=\"url\" readonly "
	    "aria-label=\"Image URL\" value=\"");
	if (ok) {
		pageutil_origin(rq, b);
		html_attr(b, rq->w->cfg->base_path);
		html_attr(b, path.p + 1);
		hbuf_puts(b, "?");
		html_attr(b, q.p);
	}
	hbuf_puts(b, "\"><button id=\"copy\" type=\"button\">Copy</button>"
	    "</div><img id=\"out\" class=\"out\" alt=\"the generated image\"");
	if (ok) {
		hbuf_printf(b, " width=\"%s\" height=\"%s\" src=\"", f->width,
		    f->height);
		html_attr(b, rq->w->cfg->base_path);
		html_attr(b, path.p + 1);
		hbuf_puts(b, "?");
		html_attr(b, q.p);
		hbuf_puts(b, "\"");
	} else
		hbuf_puts(b, " hidden");
	hbuf_puts(b, "></section>");
	hbuf_free(&path);
	hbuf_free(&q);
}

/* GET /: 200 with the page; 404 with [pages] home = off. */
void
page_home(struct rq *rq)
{
	const struct cfg	*c = rq->w->cfg;
	struct img_form		 f;
	struct hbuf		 b;
	const char		*why = NULL, *js = script;
	int			 status = 200;

	if (!c->pages_home) {
		rq->outcome = OUT_NOT_FOUND;
		http_text(rq, 404, NULL, NULL, "not found");
		return;
	}
	rq->outcome = OUT_PAGE;
	hbuf_init(&b, HBUF_MAX);
	layout_begin(&b, c, "Try a prompt");
	intro(&b);
	hbuf_puts(&b, "<p>An image URL is <code>");
	html_text(&b, c->base_path);
	hbuf_puts(&b, "{width}x{height}.{jpg|png}?text={prompt}[&amp;seed=N]"
	    "</code>.</p>");
	if (c->access_mode == ACCESS_SIGNED) {
		hbuf_puts(&b, "<p class=\"card\">This host serves signed URLs "
		    "only (<code>[access] mode = signed</code>): its operator "
		    "mints them on the <a href=\"");
		html_attr(&b, c->base_path);
		hbuf_puts(&b, "dashboard\">dashboard</a>, so this public page "
		    "cannot make one.</p>");
		js = NULL;
	} else if (pageutil_form(rq->query, rq->query ? strlen(rq->query) :
	    0, &f, &why) == -1) {
		status = 400;
		hbuf_puts(&b, "<p class=\"err\">");
		html_text(&b, why);
		hbuf_puts(&b, "</p>");
		pageutil_form(NULL, 0, &f, &why);
		form(&b, c, &f);
	} else {
		form(&b, c, &f);
		result(&b, rq, &f);
	}
	delivery_note(&b, c);
	layout_end(&b, js);
	layout_send(rq, status, &b, js, NULL, NULL, NULL, NULL);
	hbuf_free(&b);
}
