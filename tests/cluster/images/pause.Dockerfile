# The pod sandbox: Debian's static catatonit in pause mode.
FROM scratch
COPY catatonit /catatonit
ENTRYPOINT ["/catatonit", "-P"]
