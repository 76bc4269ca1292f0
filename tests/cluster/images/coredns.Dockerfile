# kubeadm's CoreDNS Deployment passes only args, so the image supplies the entrypoint.
FROM scratch
COPY coredns /coredns
ENTRYPOINT ["/coredns"]
