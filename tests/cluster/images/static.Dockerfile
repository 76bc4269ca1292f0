# One statically linked Kubernetes component, run by the `command:` of its kubeadm manifest.
FROM scratch
ARG BIN
COPY ${BIN} /usr/local/bin/${BIN}
ENV PATH=/usr/local/bin
