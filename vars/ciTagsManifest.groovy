// `ci-tags manifest IMAGE`: a multi-arch image's index, assembled from its per-arch images by metadata alone,
// after every arch's build. Call inside ciTagsNode (any agent that runs ci-tags).

void call(Map args = [:]) {
    Map settings = ciTagsSettings(args, ['image'])
    if (!settings.image) {
        error('ciTagsManifest: image is required')
    }
    ciTagsEnv(settings) {
        withEnv(["CI_TAGS_MANIFEST_IMAGE=${settings.image}"]) {
            sh 'ci-tags manifest "$CI_TAGS_MANIFEST_IMAGE" --config "$CI_TAGS_CONFIG"'
        }
    }
}
