// `import LeveeNIO` brings the quotas and keys of the core (`Quota`, `LimiterKey`, clocks) too.
@_exported import Levee
