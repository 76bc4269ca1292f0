# Components that call iptables, conntrack or ip get the Debian base.
ARG BASE
FROM ${BASE}
ARG BIN
COPY ${BIN} /usr/local/bin/${BIN}
