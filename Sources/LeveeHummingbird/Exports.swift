// One `import LeveeHummingbird` brings the quotas (`Levee`) and the shared HTTP limiter (`LeveeNIO`).
@_exported import Levee
@_exported import LeveeNIO
