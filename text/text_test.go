package text

import (
	"reflect"
	"strings"
	"sync"
	"testing"
)

const base = "https://eng.example"

var (
	bobLocal = Mention{AccountID: "1", Username: "bob", Acct: "bob", URL: "https://eng.example/@bob"}
	bobSales = Mention{AccountID: "2", Username: "bob", Acct: "bob@127.0.0.1:8082", URL: "http://127.0.0.1:8082/@bob"}
	alice    = Mention{AccountID: "3", Username: "alice", Acct: "alice", URL: "https://eng.example/@alice"}
)

// resolve knows a fixed set of accounts. Several accts map to one account
// so that deduplication by AccountID is exercised.
func resolve(acct string) (Mention, bool) {
	switch strings.ToLower(acct) {
	case "bob", "bob@eng.example":
		return bobLocal, true
	case "bob@127.0.0.1:8082":
		return bobSales, true
	case "alice":
		return alice, true
	}
	return Mention{}, false
}

const (
	hcardBob   = `<span class="h-card" translate="no"><a href="https://eng.example/@bob" class="u-url mention">@<span>bob</span></a></span>`
	hcardAlice = `<span class="h-card" translate="no"><a href="https://eng.example/@alice" class="u-url mention">@<span>alice</span></a></span>`
	linkOpen   = `target="_blank" rel="nofollow noopener noreferrer"><span class="invisible">`
)

func TestRender(t *testing.T) {
	r := NewRenderer(base)
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"blank", " \n\t\n", ""},
		{"plain", "hello world", "<p>hello world</p>"},
		{"trimmed", "\n  hello  \n", "<p>hello</p>"},
		{"escaping", `<script>alert("x")</script> & 'q'`,
			"<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39;</p>"},
		{"entity typed literally", "&#39; &amp;", "<p>&amp;#39; &amp;amp;</p>"},
		{"line break", "a\nb", "<p>a<br />b</p>"},
		{"paragraphs", "a\n\nb\n\n\n\nc", "<p>a</p><p>b</p><p>c</p>"},
		{"crlf", "a\r\nb\r\n\r\nc\rd", "<p>a<br />b</p><p>c<br />d</p>"},
		{"url", "see https://example.com/path ok",
			`<p>see <a href="https://example.com/path" ` + linkOpen + `https://</span><span class="">example.com/path</span><span class="invisible"></span></a> ok</p>`},
		{"url trailing period", "see https://example.com/path.",
			`<p>see <a href="https://example.com/path" ` + linkOpen + `https://</span><span class="">example.com/path</span><span class="invisible"></span></a>.</p>`},
		{"url trailing punctuation", "https://example.com! https://example.com/a?, http://example.com/b:",
			`<p><a href="https://example.com" ` + linkOpen + `https://</span><span class="">example.com</span><span class="invisible"></span></a>! ` +
				`<a href="https://example.com/a" ` + linkOpen + `https://</span><span class="">example.com/a</span><span class="invisible"></span></a>?, ` +
				`<a href="http://example.com/b" ` + linkOpen + `http://</span><span class="">example.com/b</span><span class="invisible"></span></a>:</p>`},
		{"url in parentheses", "(see https://example.com/a)",
			`<p>(see <a href="https://example.com/a" ` + linkOpen + `https://</span><span class="">example.com/a</span><span class="invisible"></span></a>)</p>`},
		{"url with balanced parentheses", "https://w.example/Go_(lang).",
			`<p><a href="https://w.example/Go_(lang)" ` + linkOpen + `https://</span><span class="">w.example/Go_(lang)</span><span class="invisible"></span></a>.</p>`},
		{"url with query", "https://example.com/s?q=a&b=1.",
			`<p><a href="https://example.com/s?q=a&amp;b=1" ` + linkOpen + `https://</span><span class="">example.com/s?q=a&amp;b=1</span><span class="invisible"></span></a>.</p>`},
		{"long url truncated", "https://www.example.com/a/very/long/path/that/goes/on",
			`<p><a href="https://www.example.com/a/very/long/path/that/goes/on" ` + linkOpen + `https://www.</span><span class="ellipsis">example.com/a/very/long/path/t</span><span class="invisible">hat/goes/on</span></a></p>`},
		{"url exactly 30", "https://abcdefghijklmnopqrstuvwxyz.com",
			`<p><a href="https://abcdefghijklmnopqrstuvwxyz.com" ` + linkOpen + `https://</span><span class="">abcdefghijklmnopqrstuvwxyz.com</span><span class="invisible"></span></a></p>`},
		{"url truncated by characters not bytes", "https://x.example/ééééééééééééééééééééééé",
			`<p><a href="https://x.example/ééééééééééééééééééééééé" ` + linkOpen + `https://</span><span class="ellipsis">x.example/éééééééééééééééééééé</span><span class="invisible">ééé</span></a></p>`},
		{"url with port", "http://127.0.0.1:8082/@bob",
			`<p><a href="http://127.0.0.1:8082/@bob" ` + linkOpen + `http://</span><span class="">127.0.0.1:8082/@bob</span><span class="invisible"></span></a></p>`},
		{"ftp is not linked", "ftp://example.com/x", "<p>ftp://example.com/x</p>"},
		{"scheme glued to word", "xhttps://example.com", "<p>xhttps://example.com</p>"},
		{"local mention", "hi @bob!", "<p>hi " + hcardBob + "!</p>"},
		{"local mention with own domain", "@bob@eng.example", "<p>" + hcardBob + "</p>"},
		{"remote mention with host:port", "cc @bob@127.0.0.1:8082.",
			`<p>cc <span class="h-card" translate="no"><a href="http://127.0.0.1:8082/@bob" class="u-url mention">@<span>bob</span></a></span>.</p>`},
		{"same username shows acct", "@bob @bob@127.0.0.1:8082",
			`<p><span class="h-card" translate="no"><a href="https://eng.example/@bob" class="u-url mention">@<span>bob</span></a></span> ` +
				`<span class="h-card" translate="no"><a href="http://127.0.0.1:8082/@bob" class="u-url mention">@<span>bob@127.0.0.1:8082</span></a></span></p>`},
		{"unknown mention", "hi @carol and @carol@far.example", "<p>hi @carol and @carol@far.example</p>"},
		{"email is not a mention", "mail bob@example.com", "<p>mail bob@example.com</p>"},
		{"mention in parentheses", "(@alice)", "<p>(" + hcardAlice + ")</p>"},
		{"hashtag", "#Hello world", `<p><a href="https://eng.example/tags/hello" class="mention hashtag" rel="tag">#<span>Hello</span></a> world</p>`},
		{"hashtag unicode", "#café", `<p><a href="https://eng.example/tags/caf%C3%A9" class="mention hashtag" rel="tag">#<span>café</span></a></p>`},
		{"hashtag middle dot", "#foo·bar·", `<p><a href="https://eng.example/tags/foo%C2%B7bar" class="mention hashtag" rel="tag">#<span>foo·bar</span></a>·</p>`},
		{"hashtag all digits", "#2024 #1", "<p>#2024 #1</p>"},
		{"hashtag digits and letters", "#2024vibes", `<p><a href="https://eng.example/tags/2024vibes" class="mention hashtag" rel="tag">#<span>2024vibes</span></a></p>`},
		{"hashtag after word", "C#sharp", "<p>C#sharp</p>"},
		{"url fragment is not a hashtag", "https://x.example/#frag",
			`<p><a href="https://x.example/#frag" ` + linkOpen + `https://</span><span class="">x.example/#frag</span><span class="invisible"></span></a></p>`},
		{"url path is not a mention", "https://x.example/@bob",
			`<p><a href="https://x.example/@bob" ` + linkOpen + `https://</span><span class="">x.example/@bob</span><span class="invisible"></span></a></p>`},
		{"all together", "@alice look:\nhttps://x.example #Go",
			"<p>" + hcardAlice + ` look:<br /><a href="https://x.example" ` + linkOpen + `https://</span><span class="">x.example</span><span class="invisible"></span></a> ` +
				`<a href="https://eng.example/tags/go" class="mention hashtag" rel="tag">#<span>Go</span></a></p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Render(tt.in, resolve).HTML
			if got != tt.want {
				t.Errorf("Render(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// Render's markup must survive its own sanitizer pass untouched,
			// or the pass is silently rewriting what we meant to emit.
			if again := r.san.clean(got, false); again != got {
				t.Errorf("clean(Render(%q)) = %q, want %q", tt.in, again, got)
			}
		})
	}
}

func TestRenderEntities(t *testing.T) {
	r := NewRenderer(base)
	tests := []struct {
		in           string
		wantMentions []Mention
		wantTags     []string
	}{
		{"", []Mention{}, []string{}},
		{"no entities", []Mention{}, []string{}},
		{"@bob @alice @bob@eng.example @BOB", []Mention{bobLocal, alice}, []string{}},
		{"@bob@127.0.0.1:8082 @bob", []Mention{bobSales, bobLocal}, []string{}},
		{"@carol @bob", []Mention{bobLocal}, []string{}},
		{"#Go #go #Café #café #2024", []Mention{}, []string{"go", "café"}},
		{"https://x.example/#frag #real", []Mention{}, []string{"real"}},
	}
	for _, tt := range tests {
		got := r.Render(tt.in, resolve)
		if !reflect.DeepEqual(got.Mentions, tt.wantMentions) {
			t.Errorf("Render(%q).Mentions = %v, want %v", tt.in, got.Mentions, tt.wantMentions)
		}
		if !reflect.DeepEqual(got.Tags, tt.wantTags) {
			t.Errorf("Render(%q).Tags = %q, want %q", tt.in, got.Tags, tt.wantTags)
		}
	}
}

func TestRenderResolvesEachAcctOnce(t *testing.T) {
	calls := map[string]int{}
	counting := func(acct string) (Mention, bool) {
		calls[acct]++
		return resolve(acct)
	}
	NewRenderer(base).Render("@bob @bob @carol @carol", counting)
	want := map[string]int{"bob": 1, "carol": 1}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("resolver calls = %v, want %v", calls, want)
	}
}

func TestRenderNilResolver(t *testing.T) {
	got := NewRenderer(base).Render("@bob", nil)
	if got.HTML != "<p>@bob</p>" || len(got.Mentions) != 0 {
		t.Errorf("Render(%q, nil) = %+v, want HTML %q and no mentions", "@bob", got, "<p>@bob</p>")
	}
}

func TestSanitize(t *testing.T) {
	r := NewRenderer(base)
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain paragraph", "<p>hi <em>there</em></p>", "<p>hi <em>there</em></p>"},
		{"script removed with content", `<p>a<script>alert(1)</script>b</p>`, "<p>ab</p>"},
		{"style removed with content", `<style>p{color:red}</style><p>a</p>`, "<p>a</p>"},
		{"iframe removed with content", `<iframe src="https://evil.example">x</iframe>ok`, "ok"},
		{"onclick removed", `<p onclick="evil()">a</p>`, "<p>a</p>"},
		{"javascript link removed", `<a href="javascript:alert(1)">click</a>`, "click"},
		{"obfuscated javascript link removed", `<a href="java&#x09;script:alert(1)">a</a><a href=" javascript:x">b</a><a href="JaVaScRiPt:x">c</a>`, "abc"},
		{"data link removed", `<a href="data:text/html,x">d</a>`, "d"},
		{"link gets rel and target", `<a href="https://x.example/">x</a>`,
			`<a href="https://x.example/" target="_blank" rel="nofollow noopener noreferrer">x</a>`},
		{"rel and target overridden", `<a href="https://x.example/" rel="me" target="_self">x</a>`,
			`<a href="https://x.example/" target="_blank" rel="nofollow noopener noreferrer">x</a>`},
		{"relative link kept", `<a href="/tags/go">go</a>`, `<a href="/tags/go" target="_blank" rel="nofollow noopener noreferrer">go</a>`},
		{"allowed classes kept", `<a href="https://s.example/tags/go" class="mention hashtag" rel="tag">#<span>go</span></a>`,
			`<a href="https://s.example/tags/go" class="mention hashtag" target="_blank" rel="tag nofollow noopener noreferrer">#<span>go</span></a>`},
		{"mastodon link markup kept", `<span class="h-card" translate="no"><span class="invisible">https://</span><span class="ellipsis">x</span><span class="">y</span></span>`,
			`<span class="h-card" translate="no"><span class="invisible">https://</span><span class="ellipsis">x</span><span class="">y</span></span>`},
		{"disallowed class dropped", `<span class="evil">a</span><span class="mention evil">b</span>`, `<span>a</span><span class="mention">b</span>`},
		{"translate other than no dropped", `<span translate="yes">a</span>`, `<span>a</span>`},
		{"style attribute dropped", `<p style="position:fixed">a</p>`, `<p>a</p>`},
		{"unknown element keeps text", `<div><img src="x" onerror="alert(1)">hi</div>`, "hi"},
		{"headings become strong", `<h1>Title</h1><p>x</p>`, `<p><strong>Title</strong></p><p>x</p>`},
		{"blocks end paragraphs", `<p>a<h2>T</h2>b</p><p>c<p>d`, `<p>a</p><p><strong>T</strong></p>b<p>c</p><p>d</p>`},
		{"formatting kept", `<pre><code>x</code></pre><blockquote><del>a</del> <b>b</b> <i>c</i> <u>d</u></blockquote><ol start="3"><li>e</li></ol><ul><li>f</li></ul>`,
			`<pre><code>x</code></pre><blockquote><del>a</del> <b>b</b> <i>c</i> <u>d</u></blockquote><ol start="3"><li>e</li></ol><ul><li>f</li></ul>`},
		{"unclosed elements closed", `<p><a href="https://x.example">x<b>y`,
			`<p><a href="https://x.example" target="_blank" rel="nofollow noopener noreferrer">x<b>y</b></a></p>`},
		{"stray end tags dropped", `</b>a</p>`, "a"},
		{"br normalized", "a<br>b<br/>c", "a<br />b<br />c"},
		{"comment removed", "a<!-- x -->b", "ab"},
		{"text escaped", "1 &lt; 2 &amp; <", "1 &lt; 2 &amp; &lt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPlainText(t *testing.T) {
	r := NewRenderer(base)
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"<p>hello</p>", "hello"},
		{"<p>a<br />b</p><p>c</p>", "a\nb\n\nc"},
		{"<p>a</p>\n<p>b</p>", "a\n\nb"},
		{"a<br>b<br><br>c", "a\nb\n\nc"},
		{"<p>1 &lt; 2 &amp;&amp; &quot;x&quot; &#39;y&#39;</p>", `1 < 2 && "x" 'y'`},
		{"<p>x<script>alert(1)</script><style>p{}</style>y</p>", "xy"},
		{"<ul><li>a</li><li>b</li></ul><p>c</p>", "a\nb\n\nc"},
		{r.Render("@alice see https://www.example.com/a/very/long/path/that/goes/on #Go\n\nbye", resolve).HTML,
			"@alice see https://www.example.com/a/very/long/path/that/goes/on #Go\n\nbye"},
	}
	for _, tt := range tests {
		if got := PlainText(tt.in); got != tt.want {
			t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHashtagNames(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"#Go and #go and #Café", []string{"go", "café"}},
		{"#2024 #1_2 #___", []string{"1_2", "___"}},
		{"(#tag) C#sharp a/#b", []string{"tag"}},
		{"https://x.example/a #b/#c", []string{"b"}},
		{"＃fullwidth", []string{"fullwidth"}},
	}
	for _, tt := range tests {
		if got := HashtagNames(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("HashtagNames(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidUsername(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"bob", true},
		{"b", true},
		{"_", true},
		{"Bob_99", true},
		{"bob.smith", true},
		{"bob-smith", true},
		{"a.-b", true},
		{strings.Repeat("a", 30), true},
		{strings.Repeat("a", 31), false},
		{"", false},
		{".bob", false},
		{"bob.", false},
		{"-bob", false},
		{"bob-", false},
		{"bob smith", false},
		{"bob@example", false},
		{"böb", false},
	}
	for _, tt := range tests {
		if got := ValidUsername(tt.in); got != tt.want {
			t.Errorf("ValidUsername(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestConcurrentUse runs under -race to check that a Renderer (and the
// bluemonday policy inside it) can be shared between requests.
func TestConcurrentUse(t *testing.T) {
	r := NewRenderer(base)
	want := r.Render(benchStatus, resolve).HTML
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if got := r.Render(benchStatus, resolve).HTML; got != want {
					t.Errorf("Render(%q) = %q, want %q", benchStatus, got, want)
					return
				}
				r.Sanitize(`<a href="https://x.example" class="mention evil">x</a>`)
			}
		}()
	}
	wg.Wait()
}

// benchStatus is about 400 characters with two mentions, a URL and two tags.
var benchStatus = "Morning @alice and @bob@127.0.0.1:8082! The release notes for this " +
	"week are up at https://eng.example/notes/2024/release-42?lang=en and cover " +
	"the new search filters, the faster timeline queries and a long list of small " +
	"fixes that people asked for in the last retro. Please read them before the " +
	"planning meeting so we can spend the time on questions rather than slides. " +
	"Thanks everyone for the help. #release #Engineering"

func BenchmarkRender(b *testing.B) {
	r := NewRenderer(base)
	b.ReportAllocs()
	for b.Loop() {
		r.Render(benchStatus, resolve)
	}
}

// Other servers cannot store NUL, and control characters hide text from readers: none reach
// stored text, whether a client or another server sent them.
func TestStripControls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a\x00b\x01c\x1fd", "abcd"},
		{"tab\tnew\nline\r", "tab\tnew\nline\r"},
		{"bad \xff utf-8", "bad \ufffd utf-8"},
		{"café ☕", "café ☕"},
	} {
		if got := StripControls(tc.in); got != tc.want {
			t.Errorf("StripControls(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got, want := NewSanitizer().Sanitize("<p>hi\x00 there\x07</p>"), "<p>hi there</p>"; got != want {
		t.Errorf("Sanitize kept control characters: %q, want %q", got, want)
	}
}
