package core

// Text is a label in Chinese and English; Chinese is shown first.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en,omitempty"`
}
