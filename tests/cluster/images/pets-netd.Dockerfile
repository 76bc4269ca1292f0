ARG BASE
FROM ${BASE}
COPY kubectl /usr/local/bin/kubectl
COPY pets-netd /usr/local/bin/pets-netd
CMD ["/bin/bash", "/usr/local/bin/pets-netd"]
