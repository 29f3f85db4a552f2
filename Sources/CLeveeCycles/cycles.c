// SwiftPM needs a source file in a C target; the counter read is inline in the header.
#include "CLeveeCycles.h"
