// The part of kubecfg's built-in library (github.com/kubecfg/kubecfg lib/kubecfg.libsonnet) that
// Sealed Secrets' controller-norbac.jsonnet uses. kubecfg implements parseYaml as a native Go
// function, which the plain jsonnet command does not have; std.parseYaml (go-jsonnet) parses the
// same YAML, and kubecfg always returns a list of documents, even for one.
{
  parseYaml(data):: local docs = std.parseYaml(data); if std.isArray(docs) then docs else [docs],
}
