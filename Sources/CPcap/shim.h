#ifndef LEVEE_CPCAP_SHIM_H
#define LEVEE_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
