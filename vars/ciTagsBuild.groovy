// `ci-tags build IMAGE --arch ARCH`: one image for one architecture, on exactly the parents it was hashed with;
// pushes its content tag, then its pipeline tag. Call inside ciTagsNode, on an agent of that arch.

void call(Map args = [:]) {
    Map settings = ciTagsSettings(args, ['image', 'arch'])
    if (!settings.image || !settings.arch) {
        error('ciTagsBuild: image and arch are required')
    }
    ciTagsEnv(settings) {
        withEnv(["CI_TAGS_BUILD_IMAGE=${settings.image}", "CI_TAGS_BUILD_ARCH=${settings.arch}"]) {
            sh 'ci-tags build "$CI_TAGS_BUILD_IMAGE" --arch "$CI_TAGS_BUILD_ARCH" --config "$CI_TAGS_CONFIG"'
        }
    }
}
