package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/html"

	"watercooler/store"
)

// Preview cards are kept a week, as pages rarely change what they say of themselves; a page
// that could not be read is tried again after an hour rather than on every request.
const (
	cardTTL       = 7 * 24 * time.Hour
	failedCardTTL = time.Hour
	// cardHeadBytes is how much of a page is read: OpenGraph lives in the head, and a page
	// larger than the fetch cap still has one worth reading.
	cardHeadBytes = 256 << 10
	cardTextLimit = 500
)

// ErrNotHTML is returned for a link whose page is not an HTML document.
var ErrNotHTML = errors.New("not an HTML page")

// PreviewCard returns the preview card of the page at rawURL, from the store when it was
// fetched lately, else fetched now through the same address guard as every remote fetch. A page
// that cannot be read is remembered as failed, and reported as ErrNotFound until it is retried.
func (f *Federator) PreviewCard(ctx context.Context, rawURL string) (*store.Card, error) {
	if c, err := f.store.CardFor(ctx, rawURL); err == nil {
		if c.Failed {
			return nil, fmt.Errorf("card %s: %w", rawURL, store.ErrNotFound)
		}
		return c, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	body, final, err := f.fetcher.getPageHead(ctx, rawURL)
	if err != nil {
		f.log.Debug("preview card not fetched", "url", rawURL, "err", err)
		failed := &store.Card{URL: rawURL, Failed: true, FetchedAt: time.Now().UTC()}
		if err := f.store.SaveCard(ctx, failed, failedCardTTL); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("card %s: %w", rawURL, store.ErrNotFound)
	}
	card := CardFromHTML(body, final)
	card.URL = rawURL // the link as people shared it is what trends count
	card.FetchedAt = time.Now().UTC()
	if err := f.store.SaveCard(ctx, &card, cardTTL); err != nil {
		return nil, err
	}
	return &card, nil
}

// getPageHead fetches the start of an HTML page: the head a preview card is made from. Unlike
// get, a longer page is cut rather than refused.
func (f *Fetcher) getPageHead(ctx context.Context, rawURL string) ([]byte, *url.URL, error) {
	req, _, err := f.newGET(ctx, rawURL, "text/html, application/xhtml+xml")
	if err != nil {
		return nil, nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	final := resp.Request.URL
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		drain(resp.Body)
		return nil, final, &StatusError{URL: final.String(), Code: resp.StatusCode}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/html" && mt != "application/xhtml+xml" {
		return nil, final, fmt.Errorf("GET %s: content type %q: %w", final, mt, ErrNotHTML)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, cardHeadBytes))
	if err != nil {
		return nil, final, fmt.Errorf("GET %s: %w", final, err)
	}
	return body, final, nil
}

// CardFromHTML reads a preview card from a page's head: OpenGraph first, then Twitter's tags,
// then the plain title and description. Relative image URLs are resolved against page.
func CardFromHTML(page []byte, pageURL *url.URL) store.Card {
	meta := map[string]string{}
	var title, lang string
	z := html.NewTokenizer(bytes.NewReader(page))
	inTitle := false
scan:
	for {
		switch z.Next() {
		case html.ErrorToken:
			break scan
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "html":
				lang = attr(tok, "lang")
			case "title":
				inTitle = title == ""
			case "meta":
				key := strings.ToLower(attr(tok, "property"))
				if key == "" {
					key = strings.ToLower(attr(tok, "name"))
				}
				if _, seen := meta[key]; key != "" && !seen {
					meta[key] = strings.TrimSpace(attr(tok, "content"))
				}
			case "body":
				break scan
			}
		case html.TextToken:
			if inTitle {
				title = strings.TrimSpace(string(z.Text()))
				inTitle = false
			}
		case html.EndTagToken:
			if tok := z.Token(); tok.Data == "head" {
				break scan
			}
		}
	}
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := meta[k]; v != "" {
				return v
			}
		}
		return ""
	}
	card := store.Card{
		Type:         "link",
		Title:        clipRunes(first("og:title", "twitter:title"), cardTextLimit),
		Description:  clipRunes(first("og:description", "twitter:description", "description"), cardTextLimit),
		ProviderName: clipRunes(first("og:site_name"), cardTextLimit),
		AuthorName:   clipRunes(first("author", "article:author"), cardTextLimit),
		Language:     strings.ToLower(strings.SplitN(strings.SplitN(lang, "-", 2)[0], "_", 2)[0]),
	}
	if card.Title == "" {
		card.Title = clipRunes(title, cardTextLimit)
	}
	if pageURL != nil {
		card.ProviderURL = pageURL.Scheme + "://" + pageURL.Host + "/"
		if card.ProviderName == "" {
			card.ProviderName = pageURL.Hostname()
		}
		if img, err := pageURL.Parse(first("og:image", "og:image:url", "twitter:image")); err == nil && img.String() != pageURL.String() && (img.Scheme == "http" || img.Scheme == "https") {
			card.Image = img.String()
			card.Width, _ = strconv.Atoi(meta["og:image:width"])
			card.Height, _ = strconv.Atoi(meta["og:image:height"])
		}
	}
	return card
}

func attr(tok html.Token, name string) string {
	for _, a := range tok.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// clipRunes shortens s to at most n runes.
func clipRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
