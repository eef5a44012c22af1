package mastodon

// PreviewCard is Mastodon's PreviewCard entity: a linked page as it describes itself.
type PreviewCard struct {
	URL              string       `json:"url"`
	Title            string       `json:"title"`
	Description      string       `json:"description"`
	Type             string       `json:"type"`
	Authors          []CardAuthor `json:"authors"`
	AuthorName       string       `json:"author_name"`
	AuthorURL        string       `json:"author_url"`
	ProviderName     string       `json:"provider_name"`
	ProviderURL      string       `json:"provider_url"`
	HTML             string       `json:"html"`
	Width            int          `json:"width"`
	Height           int          `json:"height"`
	Image            *string      `json:"image"`
	ImageDescription string       `json:"image_description"`
	EmbedURL         string       `json:"embed_url"`
	Blurhash         *string      `json:"blurhash"`
	Language         *string      `json:"language"`
	PublishedAt      *string      `json:"published_at"`
}

// CardAuthor is one author of a PreviewCard (Mastodon 4.3).
type CardAuthor struct {
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Account *Account `json:"account"`
}

// TrendsLink is a trending link: its card and daily history, newest day first.
type TrendsLink struct {
	PreviewCard
	History []TagHistory `json:"history"`
}
