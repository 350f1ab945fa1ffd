// Runs a plan's builds (from ciTagsPlan) wave by wave: a wave's builds in parallel, each on an agent with its
// arch's labels, then the wave's multi-arch images' manifests in parallel. A wave only needs earlier waves. The
// branches are a scripted `parallel`: declarative `matrix` takes literal axes only, and these come from the plan.

void call(Map plan, Map args = [:]) {
    Map settings = ciTagsSettings(args)
    List waves = plan.waves ?: []
    if (!waves) {
        echo 'ci-tags: every image was reused; nothing to build'
        return
    }
    for (int i = 0; i < waves.size(); i++) {
        Map wave = waves[i]
        stage("ci-tags build wave ${i + 1}") {
            Map branches = [:]
            for (Map imageBuild in wave.builds) {
                branches["build ${imageBuild.image} ${imageBuild.arch}".toString()] = buildBranch(settings, imageBuild)
            }
            parallel(branches)
        }
        if (wave.manifests) {
            stage("ci-tags manifest wave ${i + 1}") {
                Map branches = [:]
                for (String image in wave.manifests) {
                    branches["manifest ${image}".toString()] = manifestBranch(settings, image)
                }
                parallel(branches)
            }
        }
    }
}

/** One image x arch, on an agent with agentLabel and the arch's labels (archLabels, else the config's runners). */
Closure buildBranch(Map settings, Map imageBuild) {
    String archLabel = settings.archLabels.containsKey(imageBuild.arch) ?
        settings.archLabels[imageBuild.arch] : imageBuild.label
    String label = labelExpression([settings.agentLabel, archLabel])
    Map buildArgs = settings + [image: imageBuild.image, arch: imageBuild.arch]
    return {
        ciTagsNode(label) {
            ciTagsBuild(buildArgs)
        }
    }
}

/** One multi-arch image's index, on any agent with agentLabel. */
Closure manifestBranch(Map settings, String image) {
    String label = labelExpression([settings.agentLabel])
    Map manifestArgs = settings + [image: image]
    return {
        ciTagsNode(label) {
            ciTagsManifest(manifestArgs)
        }
    }
}

/** The non-empty label expressions, each in parentheses, joined by &&; empty (any agent) when none is given. */
@NonCPS
String labelExpression(List expressions) {
    return expressions.findAll { Object e -> e?.toString()?.trim() }
        .collect { Object e -> "(${e.toString().trim()})" }.join(' && ')
}

