"""S3's role, embedded: buckets and objects on Lamina's endpoint, and notifications of their changes."""
