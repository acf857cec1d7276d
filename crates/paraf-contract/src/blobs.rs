//! TODO(helper): blobs contract suite
