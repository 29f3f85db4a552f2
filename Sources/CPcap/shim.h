#ifndef LEVEE_CPCAP_SHIM_H
#define LEVEE_CPCAP_SHIM_H
#include <pcap/pcap.h>

#ifdef __linux__
// The load generator's one-request-per-connection path runs its own epoll loop; Swift's Glibc
// module does not export <sys/epoll.h>, so LeveeLoad's only C shim carries it.
#include <sys/epoll.h>
#endif
#endif
