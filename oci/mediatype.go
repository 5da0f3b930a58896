// Package oci builds and reads Wasm plugin images in the formats Higress
// gateways accept.
//
// Three image forms are understood:
//
//   - FormatOCI, the Higress plugin image: an OCI image manifest whose layers
//     each hold one file — spec.yaml, README.md, README_{lang}.md and icon.png
//     with their own media types — and whose last layer is plugin.tar.gz
//     (application/vnd.oci.image.layer.v1.tar+gzip) containing plugin.wasm.
//   - FormatDocker, the plain image a `FROM scratch` Dockerfile produces: a
//     Docker v2 manifest with one application/vnd.docker.image.rootfs.diff.tar.gzip
//     layer holding plugin.wasm.
//   - FormatWasm, the two-layer artifact with a raw module layer
//     (application/vnd.module.wasm.content.layer.v1+wasm) next to a runtime
//     config layer.
//
// Build produces any of them reproducibly (the same inputs give the same
// manifest digest); Extract reads the module back out of any of them,
// verifying every blob against its descriptor. Images are written and read as
// OCI image layout directories or tar files of one (see WriteLayout,
// WriteLayoutTar and OpenLayout). Talking to registries is the job of the
// oci/registry package.
package oci

import "strings"

// Layer, config and manifest media types of plugin images.
const (
	// MediaTypeSpec is the layer holding spec.yaml.
	MediaTypeSpec = "application/vnd.module.wasm.spec.v1+yaml"
	// MediaTypeReadme is the layer holding README.md.
	MediaTypeReadme = "application/vnd.module.wasm.doc.v1+markdown"
	// MediaTypeIcon is the layer holding icon.png.
	MediaTypeIcon = "application/vnd.module.wasm.icon.v1+png"
	// MediaTypePluginLayer is the last layer of a Higress plugin image: a
	// gzip-compressed tar holding plugin.wasm.
	MediaTypePluginLayer = "application/vnd.oci.image.layer.v1.tar+gzip"
	// MediaTypeDockerLayer is the layer type of Docker v2 images; the last
	// layer of a plain plugin image holds plugin.wasm.
	MediaTypeDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	// MediaTypeWasmLayer is a layer whose content is the raw Wasm module.
	MediaTypeWasmLayer = "application/vnd.module.wasm.content.layer.v1+wasm"
	// MediaTypeWasmConfig is the runtime config of the raw-module form, used
	// both as the manifest config and as its first layer.
	MediaTypeWasmConfig = "application/vnd.module.wasm.config.v1+json"
	// MediaTypeUnknownConfig is the config type of Higress plugin images: an
	// empty JSON object, as the ORAS 1.0 tooling the official images are
	// built with writes it.
	MediaTypeUnknownConfig = "application/vnd.unknown.config.v1+json"
	// MediaTypeOCIManifest is the OCI image manifest.
	MediaTypeOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	// MediaTypeOCIIndex is the OCI image index.
	MediaTypeOCIIndex = "application/vnd.oci.image.index.v1+json"
	// MediaTypeDockerManifest is the Docker image manifest, schema 2.
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	// MediaTypeDockerManifestList is the Docker multi-platform manifest list.
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	// MediaTypeDockerConfig is the Docker image config.
	MediaTypeDockerConfig = "application/vnd.docker.container.image.v1+json"
)

// AnnotationTitle names the file a layer holds (the ORAS convention).
const AnnotationTitle = "org.opencontainers.image.title"

// PluginWasm is the file name of the module inside image layers.
const PluginWasm = "plugin.wasm"

// MaxModuleSize bounds the size of a module and of any blob read from an
// image: 256 MiB, the limit Higress gateways apply to plugin.wasm.
const MaxModuleSize = 256 << 20

const (
	docPrefix = "application/vnd.module.wasm.doc.v1"
	docSuffix = "+markdown"
)

// ReadmeMediaType returns the layer media type for README_{lang}.md, keeping
// lang as written in the file name (README_EN.md gives
// application/vnd.module.wasm.doc.v1.EN+markdown, as the Higress image CI
// does). An empty lang gives MediaTypeReadme.
func ReadmeMediaType(lang string) string {
	if lang == "" {
		return MediaTypeReadme
	}
	return docPrefix + "." + lang + docSuffix
}

// MetadataMediaType returns the layer media type of a metadata file of a
// plugin image by its base name, and false for names that are not part of
// the format.
func MetadataMediaType(name string) (string, bool) {
	switch {
	case name == "spec.yaml":
		return MediaTypeSpec, true
	case name == "README.md":
		return MediaTypeReadme, true
	case name == "icon.png":
		return MediaTypeIcon, true
	case strings.HasPrefix(name, "README_") && strings.HasSuffix(name, ".md"):
		lang := strings.TrimSuffix(strings.TrimPrefix(name, "README_"), ".md")
		if lang == "" || strings.ContainsAny(lang, "/+ \t") {
			return "", false
		}
		return ReadmeMediaType(lang), true
	}
	return "", false
}

// metadataName is the inverse of MetadataMediaType, for layers that carry
// no title annotation.
func metadataName(mediaType string) (string, bool) {
	switch mediaType {
	case MediaTypeSpec:
		return "spec.yaml", true
	case MediaTypeReadme:
		return "README.md", true
	case MediaTypeIcon:
		return "icon.png", true
	}
	if strings.HasPrefix(mediaType, docPrefix+".") && strings.HasSuffix(mediaType, docSuffix) {
		lang := strings.TrimSuffix(strings.TrimPrefix(mediaType, docPrefix+"."), docSuffix)
		if lang != "" {
			return "README_" + lang + ".md", true
		}
	}
	return "", false
}
