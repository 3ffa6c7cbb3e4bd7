# The services of the project on Google Cloud: one service account per service (the capability
# modules grant it exactly what that service's code does, on each resource), one Artifact
# Registry repository for the images (immutable tags), and what runs each image: a Cloud Run
# service for http services (internal ingress unless public), a Cloud Run service that always
# keeps one instance for workers (internal ingress, CPU always allocated), and for schedules a
# Cloud Run job that Cloud Scheduler runs on the cron as a scheduler service account of its own.
# A service whose image is not set yet gets its service account only.

variable "services" {
  description = "Service name -> how it runs; image is a digest reference, empty before the first push."
  type = map(object({
    kind     = string
    image    = string
    port     = number
    health   = string
    public   = bool
    schedule = string
  }))
}

variable "environment_variables" {
  description = "Environment variables every service gets (besides INFRAR_ENVIRONMENT)."
  type        = map(string)
  default     = {}
}

variable "location" {
  description = "Where the services run (a region)."
  type        = string
}

variable "project" {
  description = "Project name."
  type        = string
}

variable "environment" {
  description = "Environment name."
  type        = string
}

variable "labels" {
  description = "Labels on every resource."
  type        = map(string)
  default     = {}
}

variable "cpu" {
  description = "CPU of each container."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory of each container."
  type        = string
  default     = "512Mi"
}

variable "max_instances" {
  description = "Most instances of each http service."
  type        = number
  default     = 10
}

variable "worker_port" {
  description = "Port Cloud Run needs every container to listen on ($PORT); worker images answer 200 there."
  type        = number
  default     = 8080
}

variable "kms_key_name" {
  description = "Cloud KMS key for the image repository; empty for Google-managed keys."
  type        = string
  default     = ""
}

locals {
  labels   = merge(var.labels, { project = var.project, environment = var.environment })
  prefix   = substr(join("-", compact(["infrar", var.project, var.environment])), 0, 30)
  deployed = { for name, service in var.services : name => service if service.image != "" }
  http     = { for name, service in local.deployed : name => service if service.kind == "http" }
  workers  = { for name, service in local.deployed : name => service if service.kind == "worker" }
  jobs     = { for name, service in local.deployed : name => service if service.kind == "schedule" }
  public   = { for name, service in local.http : name => service if service.public }
  # Account ids are 6 to 30 characters and unique in the Google Cloud project.
  account_ids = {
    for name, service in var.services : name => "${substr(name, 0, 20)}-${substr(sha1("${var.project}/${var.environment}/${name}"), 0, 8)}"
  }
  environment = merge(var.environment_variables, { INFRAR_ENVIRONMENT = var.environment, GOOGLE_CLOUD_PROJECT = local.gcp_project })
  gcp_project = data.google_client_config.current.project
}

data "google_client_config" "current" {}

resource "google_service_account" "service" {
  for_each = var.services

  account_id   = local.account_ids[each.key]
  display_name = "infrar ${var.project} ${var.environment} ${each.key}"
  description  = "The ${each.key} service: what its code does, nothing more."
}

resource "google_artifact_registry_repository" "images" {
  repository_id = local.prefix
  location      = var.location
  format        = "DOCKER"
  description   = "Images of the ${var.project} ${var.environment} services."
  kms_key_name  = var.kms_key_name == "" ? null : var.kms_key_name
  labels        = local.labels

  docker_config {
    immutable_tags = true
  }
}

resource "google_cloud_run_v2_service" "http" {
  for_each = local.http

  name     = substr("${local.prefix}-${each.key}", 0, 49)
  location = var.location
  ingress  = each.value.public ? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_ONLY"
  labels   = local.labels

  template {
    service_account = google_service_account.service[each.key].email

    scaling {
      max_instance_count = var.max_instances
    }

    containers {
      image = each.value.image

      ports {
        container_port = each.value.port
      }

      resources {
        limits = { cpu = var.cpu, memory = var.memory }
      }

      dynamic "env" {
        for_each = local.environment
        content {
          name  = env.key
          value = env.value
        }
      }

      startup_probe {
        http_get {
          path = each.value.health
        }
      }

      liveness_probe {
        http_get {
          path = each.value.health
        }
      }
    }
  }
}

# Anyone may call a public service; a private one only callers granted run.invoker.
resource "google_cloud_run_v2_service_iam_member" "public" {
  for_each = local.public

  name     = google_cloud_run_v2_service.http[each.key].name
  location = var.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service" "worker" {
  for_each = local.workers

  name     = substr("${local.prefix}-${each.key}", 0, 49)
  location = var.location
  ingress  = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  labels   = local.labels

  template {
    service_account = google_service_account.service[each.key].email

    scaling {
      min_instance_count = 1
      max_instance_count = 1
    }

    containers {
      image = each.value.image

      # Cloud Run counts a container as started once it listens on $PORT: the worker's image
      # answers there while the worker runs.
      ports {
        container_port = var.worker_port
      }

      resources {
        limits   = { cpu = var.cpu, memory = var.memory }
        cpu_idle = false
      }

      dynamic "env" {
        for_each = local.environment
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }
}

resource "google_cloud_run_v2_job" "job" {
  for_each = local.jobs

  name     = substr("${local.prefix}-${each.key}", 0, 49)
  location = var.location
  labels   = local.labels

  template {
    task_count = 1

    template {
      service_account = google_service_account.service[each.key].email
      max_retries     = 0

      containers {
        image = each.value.image

        resources {
          limits = { cpu = var.cpu, memory = var.memory }
        }

        dynamic "env" {
          for_each = local.environment
          content {
            name  = env.key
            value = env.value
          }
        }
      }
    }
  }
}

resource "google_service_account" "scheduler" {
  count = length(local.jobs) > 0 ? 1 : 0

  account_id   = "sched-${substr(sha1("${var.project}/${var.environment}"), 0, 12)}"
  display_name = "infrar ${var.project} ${var.environment} scheduler"
  description  = "Starts the scheduled jobs on their cron, and can do nothing else."
}

resource "google_cloud_run_v2_job_iam_member" "scheduler" {
  for_each = local.jobs

  name     = google_cloud_run_v2_job.job[each.key].name
  location = var.location
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler[0].email}"
}

resource "google_cloud_scheduler_job" "job" {
  for_each = local.jobs

  name        = substr("${local.prefix}-${each.key}", 0, 60)
  description = "Runs the ${each.key} service of ${var.project} ${var.environment}."
  region      = var.location
  schedule    = each.value.schedule
  time_zone   = "Etc/UTC"

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${local.gcp_project}/locations/${var.location}/jobs/${google_cloud_run_v2_job.job[each.key].name}:run"

    oauth_token {
      service_account_email = google_service_account.scheduler[0].email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.scheduler]
}

output "members" {
  description = "The IAM member of each service's account."
  value       = { for name, account in google_service_account.service : name => "serviceAccount:${account.email}" }
}

output "service_account_emails" {
  description = "The service account of each service."
  value       = { for name, account in google_service_account.service : name => account.email }
}

output "image_repositories" {
  description = "Where each service's image is pushed (append @sha256:<digest> for <service>_image)."
  value       = { for name, service in var.services : name => "${var.location}-docker.pkg.dev/${local.gcp_project}/${google_artifact_registry_repository.images.repository_id}/${name}" }
}

output "urls" {
  description = "The HTTPS address of each deployed public http service."
  value       = { for name, service in google_cloud_run_v2_service.http : name => service.uri if local.http[name].public }
}

output "private_urls" {
  description = "The address of each deployed private http service, reached from inside the project's network."
  value       = { for name, service in google_cloud_run_v2_service.http : name => service.uri if !local.http[name].public }
}
