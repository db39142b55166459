# Minyuan: a small, non-root image. Build: docker build -t minyuan .
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/minyuan ./cmd/minyuan

FROM alpine:3.22
# Time zone data for Asia/Shanghai (deadlines, quiet hours) and CA certificates for
# the WeChat API.
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 minyuan && adduser -S -u 10001 -G minyuan -H -s /sbin/nologin minyuan \
 && mkdir -p /var/lib/minyuan/attachments && chown -R 10001:10001 /var/lib/minyuan
# Residents' photos and voice (attachments.store dir): mount a volume here.
ENV MINYUAN_ATTACHMENTS_DIR=/var/lib/minyuan/attachments
COPY --from=build /out/minyuan /usr/local/bin/minyuan
USER 10001:10001
ENV TZ=Asia/Shanghai
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/minyuan"]
CMD ["serve", "--config", "/etc/minyuan/minyuan.yaml"]
