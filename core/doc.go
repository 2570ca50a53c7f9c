// Package core holds what every part of Minyi speaks: error kinds with
// messages in Chinese and English, bilingual text, the audit log writer and
// the poll's time zone. It imports only the database package, so that every
// domain package can use it without importing another domain.
package core
