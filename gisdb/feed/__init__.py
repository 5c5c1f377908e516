"""The change feed: every committed change of the layers, in commit order, for
consumers that follow opaque tokens (`/collections/{layer}/changes`, `/changes`,
the SSE stream, webhooks). `commit_order` (the DDL that numbers transactions at commit),
`token` (the consumers' opaque position), `log` (reading the change log after a
position), `hooks`, `signing` and `delivery` (webhooks). See docs/change_feed.md."""
