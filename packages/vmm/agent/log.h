/* One line per event on the agent's stderr (the guest console in init mode): "vmm-agent[pid]: ...". */
#ifndef AGENT_LOG_H
#define AGENT_LOG_H

void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
