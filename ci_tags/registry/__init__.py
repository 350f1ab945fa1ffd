"""The OCI distribution client: HTTP session, auth, manifests and blobs, copy and safe untag."""
